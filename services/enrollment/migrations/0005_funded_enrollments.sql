-- A person whose whole contribution is subsidised (资助参保: 特困, 孤儿 … due 0) is enrolled and
-- covered without a receipt: the enrollment is paid by a fund, named here, not by the person.
-- NULL: the person pays (or has not yet).

ALTER TABLE enrollment ADD COLUMN funded_by text;
