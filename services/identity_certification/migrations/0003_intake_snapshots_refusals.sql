-- File intake, snapshots and recorded refusals.
-- A re-posted file is recorded too (outcome 'duplicate', pointing at the submission it repeats),
-- so that "nothing happened, and why" can be shown later; access refusals (bad or revoked
-- credentials, a credential used for another department or region) are kept with their reason.

ALTER TABLE submission DROP CONSTRAINT submission_outcome_check;
ALTER TABLE submission ADD CONSTRAINT submission_outcome_check
    CHECK (outcome IN ('processed', 'refused', 'duplicate'));
ALTER TABLE submission
    ADD COLUMN source        text   NOT NULL DEFAULT 'json' CHECK (source IN ('json', 'csv', 'xlsx', 'kafka')),
    ADD COLUMN duplicate_of  uuid   REFERENCES submission (id),
    ADD COLUMN categories    text[],
    ADD COLUMN people_ended  int    NOT NULL DEFAULT 0,
    ADD COLUMN rows_skipped  int    NOT NULL DEFAULT 0,
    ADD COLUMN notes         jsonb  NOT NULL DEFAULT '[]';
CREATE INDEX submission_by_department ON submission (department, region, received_at);

CREATE TABLE access_refusal (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    channel      text        NOT NULL,  -- http, kafka, cli
    department   text,
    region       text,
    reason_code  text        NOT NULL,
    reason       text        NOT NULL
);
