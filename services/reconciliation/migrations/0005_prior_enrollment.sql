-- Last year's enrollment as the county exports it (上年度参保名单): whom the townships compare
-- this year's enrollment with (怀远县方案第245-249行), and last year's payment curve.
-- One row per person, region and coverage year; a corrected list replaces the earlier line.
CREATE TABLE prior_enrollment (
    person_id  text   NOT NULL,
    region     text   NOT NULL,
    year       int    NOT NULL,
    name       text,
    township   text,
    village    text,
    paid_on    date,              -- 缴费日期 as the list gives it (NULL: not on the list)
    amount_fen bigint,
    category   text,              -- 人员类别 as the county wrote it
    file_id    bigint NOT NULL REFERENCES import_file (id),
    PRIMARY KEY (person_id, region, year)
);
CREATE INDEX prior_enrollment_by_place ON prior_enrollment (region, year, township, village);

-- The list is an import like the others: counted, and its refused rows kept with their reasons.
ALTER TABLE import_file DROP CONSTRAINT import_file_kind_check;
ALTER TABLE import_file ADD CONSTRAINT import_file_kind_check
    CHECK (kind IN ('bank_settlement', 'agent_deposit', 'township_target', 'prior_enrollment'));
