-- Many regions side by side, the full lifecycle, duplicates and refunds.
--
-- * population is keyed by (region, person): each region imports its own household
--   register, and one region's import never overwrites another's row.
-- * enrollment is keyed by (person, region, year): a person paid in two regions for
--   the same year is two rows — the raw material of a duplicate case — instead of
--   one row whose region flips with every receipt.

ALTER TABLE population DROP CONSTRAINT population_pkey;
ALTER TABLE population ADD PRIMARY KEY (region, person_id);
CREATE INDEX population_by_person ON population (person_id);

CREATE TABLE baseline_import (
    id            uuid        PRIMARY KEY,
    region        text        NOT NULL,
    list          text        NOT NULL CHECK (list IN ('household', 'employee')),
    source        text        NOT NULL,
    file_name     text,
    rows_total    int         NOT NULL,
    rows_accepted int         NOT NULL,
    rows_rejected int         NOT NULL,
    unknown_headers text[]    NOT NULL DEFAULT '{}',
    imported_by   text        NOT NULL,
    imported_at   timestamptz NOT NULL,
    CHECK (rows_total = rows_accepted + rows_rejected)
);

-- Refused rows are kept with their reason (the ID masked: the row is not usable anyway).
CREATE TABLE baseline_rejected_row (
    import_id     uuid NOT NULL REFERENCES baseline_import (id),
    line_no       int  NOT NULL,
    person_masked text NOT NULL,
    reason_code   text NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (import_id, line_no)
);

-- Employee-insurance rosters (职工医保参保名单): the other scheme, per region.
CREATE TABLE employee_insurance (
    region       text        NOT NULL,
    person_id    text        NOT NULL,
    employer     text,
    insured_from date        NOT NULL,
    insured_to   date,
    source       text        NOT NULL,
    imported_at  timestamptz NOT NULL,
    PRIMARY KEY (region, person_id)
);
CREATE INDEX employee_insurance_by_person ON employee_insurance (person_id);

ALTER TABLE enrollment DROP CONSTRAINT enrollment_pkey;
ALTER TABLE enrollment ADD PRIMARY KEY (person_id, region, year);
ALTER TABLE enrollment DROP CONSTRAINT enrollment_state_check;
ALTER TABLE enrollment ADD CONSTRAINT enrollment_state_check
    CHECK (state IN ('registered', 'paid', 'covered', 'ended'));
ALTER TABLE enrollment
    ADD COLUMN hukou_region     text,
    ADD COLUMN residence_region text,
    ADD COLUMN school_region    text,
    ADD COLUMN event_date       date,
    ADD COLUMN registered_on    date,
    ADD COLUMN registered_by    text,
    ADD COLUMN paid_on          date,
    ADD COLUMN benefit_start    date,
    ADD COLUMN benefit_end      date,
    ADD COLUMN waiting_months   int NOT NULL DEFAULT 0,
    ADD COLUMN waiting_days     int NOT NULL DEFAULT 0,
    ADD COLUMN policy_path      text,
    ADD COLUMN policy_reasons   jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN covered_on       date,
    ADD COLUMN ended_on         date,
    ADD COLUMN end_reason       text;
CREATE INDEX enrollment_by_region ON enrollment (region, year, state);

-- Every accepted receipt, for the person's record.
CREATE TABLE payment (
    receipt_no          text        PRIMARY KEY,
    person_id           text        NOT NULL,
    region              text        NOT NULL,
    year                int         NOT NULL,
    amount_fen          bigint      NOT NULL,
    channel             text        NOT NULL,
    paid_at             timestamptz NOT NULL,
    original_receipt_no text,
    recorded_at         timestamptz NOT NULL
);
CREATE INDEX payment_by_person ON payment (person_id, region, year);

-- The latest due subsidy assessed (subsidy.due-assessed), for the person's record.
CREATE TABLE due (
    person_id        text        NOT NULL,
    region           text        NOT NULL,
    year             int         NOT NULL,
    standard_fen     bigint      NOT NULL,
    subsidy_fen      bigint      NOT NULL,
    due_fen          bigint      NOT NULL,
    refund_after_fen bigint      NOT NULL,
    lines            jsonb       NOT NULL,
    reasons          jsonb       NOT NULL,
    revision         int         NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (person_id, region, year)
);

ALTER TABLE person_status DROP CONSTRAINT person_status_pkey;
ALTER TABLE person_status ADD PRIMARY KEY (person_id, region);

-- Two valid paid enrollments for overlapping time: which one the person keeps, and why.
CREATE TABLE duplicate_case (
    id             uuid        PRIMARY KEY,
    person_id      text        NOT NULL,
    year           int         NOT NULL,
    kept           text        NOT NULL,  -- a region code or 'employee_insurance'
    dropped_region text        NOT NULL,
    rule           text        NOT NULL,
    explanation    text        NOT NULL,
    arose_on       date        NOT NULL,
    refund_id      uuid,
    opened_at      timestamptz NOT NULL,
    UNIQUE (person_id, year, dropped_region)
);

CREATE TABLE refund (
    id                uuid        PRIMARY KEY,
    person_id         text        NOT NULL,
    region            text        NOT NULL,
    year              int         NOT NULL,
    reason            text        NOT NULL,
    requested_on      date        NOT NULL,
    approved          boolean     NOT NULL,
    amount_fen        bigint      NOT NULL CHECK (amount_fen >= 0),
    explanation       text        NOT NULL,
    policy_reasons    jsonb       NOT NULL,
    requested_by      text        NOT NULL,
    duplicate_case_id uuid,
    decided_at        timestamptz NOT NULL
);
CREATE INDEX refund_by_person ON refund (person_id, region, year);

