-- What the subsidy service needs besides statuses to follow a person's due:
-- the enrollment (registered / ended) per person and year, every accepted
-- receipt (who paid what and when: the after-payment rules turn on it), the
-- refund orders with their state history, and the person-years that could not
-- be assessed, kept with the reason.

CREATE TABLE enrollment (
    person_id  text        NOT NULL,
    year       int         NOT NULL,
    region     text        NOT NULL,
    township   text,
    village    text,
    kind       text        NOT NULL,
    state      text        NOT NULL CHECK (state IN ('registered', 'ended')),
    ended_on   date,
    end_reason text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);

CREATE TABLE payment (
    receipt_no  text        PRIMARY KEY,
    person_id   text        NOT NULL,
    year        int         NOT NULL,
    region      text        NOT NULL,
    amount_fen  bigint      NOT NULL,
    paid_at     timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX payment_person_year ON payment (person_id, year);

-- A person may have no certified status at all (registered only): statuses '[]'.
ALTER TABLE due ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'ended'));
ALTER TABLE due ADD COLUMN township text;
ALTER TABLE due ADD COLUMN lines jsonb NOT NULL DEFAULT '[]';

CREATE TABLE refund_order (
    refund_id      uuid        PRIMARY KEY,
    person_id      text        NOT NULL,
    year           int         NOT NULL,
    region         text        NOT NULL,
    township       text,
    funding_source text,
    amount_fen     bigint      NOT NULL CHECK (amount_fen > 0),
    reason         text        NOT NULL,
    state          text        NOT NULL CHECK (state IN ('ordered', 'paid', 'confirmed')),
    ordered_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX refund_order_person ON refund_order (person_id, year);
CREATE INDEX refund_order_place ON refund_order (region, year, township, state);

CREATE TABLE refund_transition (
    refund_id  uuid        NOT NULL REFERENCES refund_order (refund_id),
    from_state text,
    to_state   text        NOT NULL,
    actor      text        NOT NULL,
    note       text,
    at         timestamptz NOT NULL
);
CREATE INDEX refund_transition_order ON refund_transition (refund_id, at);

CREATE TABLE unassessed (
    person_id text        NOT NULL,
    year      int         NOT NULL,
    region    text        NOT NULL,
    reason    text        NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);
