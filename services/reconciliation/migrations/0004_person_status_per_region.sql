-- Statuses are per person and region: each region's departments certify their own lists, and a
-- person another region also lists must keep the status this region gave them. Keyed by person
-- alone, the last region to announce a person replaced the other's row, so the person left that
-- region's vulnerable groups and its subsidy lines were reported as 资助无认定身份支撑.
-- Rows kept so far stay: each is the status set of the region it names.
ALTER TABLE person_status DROP CONSTRAINT person_status_pkey;
ALTER TABLE person_status ADD PRIMARY KEY (person_id, region);
