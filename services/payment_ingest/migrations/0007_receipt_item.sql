-- The receipt's item (征收品目): the year's contribution, or a gap year paid back (补缴) to repair the
-- waiting period (issue 13, point 3; seed 004 L108). A gap year is paid back once: the decision reads the
-- accepted paybacks of the person.
ALTER TABLE receipt ADD COLUMN item text NOT NULL DEFAULT 'resident_medical_insurance';
