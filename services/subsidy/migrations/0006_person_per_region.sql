-- Statuses per person and region (issue 13, point 9): identity's status-changed event of a region carries
-- that region's set only, so a person listed by two counties keeps one row per county here, and a person-year's
-- due is judged on the set of the region it belongs to (domain/regions.py). Every existing row keeps its region.

ALTER TABLE person DROP CONSTRAINT person_pkey;
ALTER TABLE person ADD PRIMARY KEY (person_id, region);
