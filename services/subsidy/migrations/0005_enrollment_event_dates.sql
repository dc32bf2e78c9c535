-- What the enrollment's kind turns on (issue 13, point 4): the event date (employee-insurance
-- lapse, entry into a child-welfare institution, discharge, release …) and the registration
-- day, both from enrollment.registered. The due of a person whose event came after the
-- collection period is judged from that event on (see domain/dues.assessment_date), not on
-- the period's last day, when the rules could not place the event yet. Rows from before
-- this migration have neither: they are assessed as before.

ALTER TABLE enrollment
    ADD COLUMN event_date    date,
    ADD COLUMN registered_on date;
