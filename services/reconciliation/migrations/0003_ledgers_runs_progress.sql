-- Reconciliation's own copy of what the other services publish (services share
-- data only through topics), the files it imports (bank settlement, village
-- agents' cash deposits, township targets), its runs and discrepancies, and the
-- weekly progress snapshots.

-- One row per person and coverage year from enrollment.events; replaces paid_person.
CREATE TABLE enrollment_year (
    person_id      text        NOT NULL,
    year           int         NOT NULL,
    region         text        NOT NULL,
    township       text,
    village        text,
    kind           text,
    state          text        NOT NULL CHECK (state IN ('registered', 'paid', 'ended')),
    paid_total_fen bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);
CREATE INDEX enrollment_year_by_place ON enrollment_year (region, year, township, village);
INSERT INTO enrollment_year (person_id, year, region, township, village, state, paid_total_fen, updated_at)
    SELECT person_id, year, region, township, village,
           CASE WHEN paid_total_fen > 0 THEN 'paid' ELSE 'registered' END, paid_total_fen, updated_at
    FROM paid_person;
DROP TABLE paid_person;

-- Each receipt enrollment booked as paid (enrollment.paid): "recorded paid" side of the books.
CREATE TABLE enrollment_payment (
    receipt_no text   NOT NULL,
    person_id  text   NOT NULL,
    year       int    NOT NULL,
    region     text   NOT NULL,
    amount_fen bigint NOT NULL,
    PRIMARY KEY (receipt_no, person_id)
);
CREATE INDEX enrollment_payment_by_year ON enrollment_payment (region, year);

-- Tax receipts as payment ingest decided them (accepted) — the money side.
CREATE TABLE receipt (
    receipt_no          text        PRIMARY KEY,
    person_id           text        NOT NULL,
    region              text        NOT NULL,
    year                int         NOT NULL,
    amount_fen          bigint      NOT NULL,
    channel             text        NOT NULL,
    agent_id            text,
    paid_at             timestamptz NOT NULL,
    original_receipt_no text
);
CREATE INDEX receipt_by_year ON receipt (region, year);

-- Receipts payment ingest refused (only counted and shown: they carry no resident ID).
CREATE TABLE receipt_rejected (
    message_id  uuid        PRIMARY KEY,
    receipt_no  text,
    person_key  text,
    region      text,
    year        int,
    amount_fen  bigint,
    reason_code text        NOT NULL,
    reason      text        NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX receipt_rejected_by_no ON receipt_rejected (receipt_no);

-- The newest assessed due of each person and year, with its subsidy lines.
CREATE TABLE due (
    person_id        text   NOT NULL,
    year             int    NOT NULL,
    region           text   NOT NULL,
    due_fen          bigint NOT NULL,
    refund_after_fen bigint NOT NULL,
    state            text   NOT NULL DEFAULT 'active',
    revision         int    NOT NULL,
    lines            jsonb  NOT NULL,
    PRIMARY KEY (person_id, year)
);
CREATE INDEX due_by_year ON due (region, year);

-- Refunds the subsidy service ordered.
CREATE TABLE refund_order (
    refund_id      uuid        PRIMARY KEY,
    person_id      text        NOT NULL,
    region         text        NOT NULL,
    year           int         NOT NULL,
    amount_fen     bigint      NOT NULL,
    reason         text        NOT NULL,
    funding_source text,
    township       text,
    ordered_at     timestamptz NOT NULL
);
CREATE INDEX refund_order_by_year ON refund_order (region, year);

-- Each person's certified statuses as identity certification last announced them.
CREATE TABLE person_status (
    person_id  text        PRIMARY KEY,
    region     text        NOT NULL,
    township   text,
    village    text,
    statuses   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX person_status_by_region ON person_status (region);

-- The population baseline (population.baseline): the denominator.
CREATE TABLE baseline_person (
    person_id  text        PRIMARY KEY,
    region     text        NOT NULL,
    township   text,
    village    text,
    name       text,
    source     text        NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX baseline_person_by_place ON baseline_person (region, township, village);

-- Imported files: one row per file, with how many lines it had, took and refused.
CREATE TABLE import_file (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('bank_settlement', 'agent_deposit', 'township_target')),
    name        text        NOT NULL,
    sha256      text        NOT NULL,
    lines_in    int         NOT NULL,
    accepted    int         NOT NULL,
    rejected    int         NOT NULL,
    imported_at timestamptz NOT NULL,
    UNIQUE (kind, sha256)
);

-- Lines of a file that could not be taken, with the reason a clerk can act on.
CREATE TABLE import_rejection (
    file_id  bigint NOT NULL REFERENCES import_file (id),
    line_no  int    NOT NULL,
    raw      text   NOT NULL,
    reason   text   NOT NULL,
    PRIMARY KEY (file_id, line_no)
);

-- Bank settlement lines: one receipt, or the total of a channel on a payment day (receipt_no NULL).
CREATE TABLE settlement_line (
    bank           text   NOT NULL,
    settlement_ref text   NOT NULL,
    line_key       text   NOT NULL,
    settled_on     date   NOT NULL,
    region         text   NOT NULL,
    channel        text   NOT NULL,
    pay_date       date   NOT NULL,
    receipt_no     text,
    amount_fen     bigint NOT NULL,
    file_id        bigint NOT NULL REFERENCES import_file (id),
    PRIMARY KEY (bank, settlement_ref, line_key)
);
CREATE INDEX settlement_line_by_region ON settlement_line (region, pay_date);
CREATE INDEX settlement_line_by_receipt ON settlement_line (receipt_no);

-- Village agents' cash collections and when the cash reached the bank (代收资金缴存).
CREATE TABLE agent_collection (
    agent_id     text   NOT NULL,
    line_ref     text   NOT NULL,
    region       text   NOT NULL,
    year         int    NOT NULL,
    township     text,
    village      text,
    person_id    text   NOT NULL,
    receipt_no   text,
    amount_fen   bigint NOT NULL,
    collected_on date   NOT NULL,
    deposited_on date,
    deposit_ref  text,
    file_id      bigint NOT NULL REFERENCES import_file (id),
    PRIMARY KEY (agent_id, line_ref)
);
CREATE INDEX agent_collection_by_region ON agent_collection (region, year);

-- Each township's enrollment target (任务数) for a year.
CREATE TABLE township_target (
    region        text NOT NULL,
    year          int  NOT NULL,
    township      text NOT NULL,
    target_people int  NOT NULL CHECK (target_people > 0),
    PRIMARY KEY (region, year, township)
);

-- Reconciliation runs per region and business day.
CREATE TABLE run (
    id          bigserial   PRIMARY KEY,
    region      text        NOT NULL,
    year        int         NOT NULL,
    day         date        NOT NULL,
    trigger     text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    counts      jsonb       NOT NULL,
    found       int         NOT NULL,
    new         int         NOT NULL,
    fingerprint text        NOT NULL
);
CREATE INDEX run_by_region ON run (region, year, day);

-- Every discrepancy ever found; its id is derived from what it is about, so a
-- repeated run finds the same id again instead of a new row.
CREATE TABLE discrepancy (
    id             uuid        PRIMARY KEY,
    region         text        NOT NULL,
    year           int         NOT NULL,
    kind           text        NOT NULL,
    subject        text        NOT NULL,
    person_id      text,
    township       text,
    village        text,
    receipt_no     text,
    amount_fen     bigint,
    detail         text        NOT NULL,
    first_run      bigint      NOT NULL REFERENCES run (id),
    last_run       bigint      NOT NULL REFERENCES run (id),
    present        boolean     NOT NULL,
    status         text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_note  text,
    resolved_by    text,
    resolved_at    timestamptz,
    found_at       timestamptz NOT NULL
);
CREATE INDEX discrepancy_open ON discrepancy (region, year, status, present);
CREATE INDEX discrepancy_by_person ON discrepancy (person_id);

-- Progress per village, kept once a week (the weekly and fortnightly reports).
CREATE TABLE progress_snapshot (
    region          text        NOT NULL,
    year            int         NOT NULL,
    week            date        NOT NULL,
    township        text        NOT NULL,
    village         text        NOT NULL,
    baseline_people int         NOT NULL,
    enrolled_people int         NOT NULL,
    paid_people     int         NOT NULL,
    paid_fen        bigint      NOT NULL,
    taken_at        timestamptz NOT NULL,
    PRIMARY KEY (region, year, week, township, village)
);
