-- Each person's certified statuses as last announced, the due per person and
-- year (with every revision counted), and the ledger of subsidy lines by
-- status, funding source and township.

CREATE TABLE person (
    person_id  text        PRIMARY KEY,
    region     text        NOT NULL,
    township   text,
    village    text,
    statuses   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE due (
    person_id        text        NOT NULL,
    year             int         NOT NULL,
    region           text        NOT NULL,
    standard_fen     bigint      NOT NULL,
    subsidy_fen      bigint      NOT NULL,
    due_fen          bigint      NOT NULL,
    refund_after_fen bigint      NOT NULL,
    reasons          jsonb       NOT NULL,
    revision         int         NOT NULL,
    assessed_at      timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);

CREATE TABLE subsidy_line (
    person_id      text   NOT NULL,
    year           int    NOT NULL,
    region         text   NOT NULL,
    township       text,
    category       text   NOT NULL,
    funding_source text   NOT NULL,
    mode           text   NOT NULL,
    amount_fen     bigint NOT NULL,
    PRIMARY KEY (person_id, year, category)
);
CREATE INDEX subsidy_line_totals ON subsidy_line (region, year, township, funding_source);
