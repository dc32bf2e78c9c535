-- A status is one region's certification (issue 13, point 9): each county's departments keep their own
-- list, so two regions may certify the same person in the same category on the same day, and each such
-- row is its region's. The key takes the region; every existing row keeps the region it was stored with.

ALTER TABLE status DROP CONSTRAINT status_pkey;
ALTER TABLE status ADD PRIMARY KEY (person_id, region, category, certified_on);
