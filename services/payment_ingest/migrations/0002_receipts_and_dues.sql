-- Every receipt ever seen, accepted or rejected with its reason, and the dues the
-- subsidy service assessed (what each receipt's amount is checked against).

CREATE TABLE receipt (
    id                  bigserial   PRIMARY KEY,
    receipt_no          text,
    payload_sha256      text        NOT NULL,
    verdict             text        NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    reason_code         text,
    reason              text,
    person_id           text,
    region              text,
    year                int,
    amount_fen          bigint,
    channel             text,
    agent_id            text,
    paid_at             timestamptz,
    original_receipt_no text,
    raw                 jsonb,
    received_at         timestamptz NOT NULL
);
-- An exact replay (same number, same payload) is recognised and ignored.
CREATE UNIQUE INDEX receipt_once ON receipt (receipt_no, payload_sha256) NULLS NOT DISTINCT;
-- At most one accepted receipt per number: a different payload under it is a conflict.
CREATE UNIQUE INDEX receipt_accepted_once ON receipt (receipt_no) WHERE verdict = 'accepted';

CREATE TABLE due (
    person_id  text   NOT NULL,
    year       int    NOT NULL,
    region     text   NOT NULL,
    due_fen    bigint NOT NULL,
    revision   int    NOT NULL,
    PRIMARY KEY (person_id, year)
);
