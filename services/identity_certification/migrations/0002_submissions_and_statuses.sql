-- Department credentials, submissions with their row-level results, and each
-- person's status history (issuing department, validity window, source submission).

CREATE TABLE department_credential (
    token_sha256 text        PRIMARY KEY,
    department   text        NOT NULL,
    region       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE TABLE submission (
    id             uuid        PRIMARY KEY,
    department     text        NOT NULL,
    region         text        NOT NULL,
    period         text        NOT NULL,
    mode           text        NOT NULL CHECK (mode IN ('delta', 'snapshot')),
    content_sha256 text        NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('processed', 'refused')),
    refusal        text,
    rows_total     int         NOT NULL,
    rows_accepted  int         NOT NULL,
    rows_rejected  int         NOT NULL,
    people_changed int         NOT NULL,
    received_at    timestamptz NOT NULL
);
-- The same content from the same department for the same region and month has no second effect.
CREATE UNIQUE INDEX submission_once ON submission (department, region, period, content_sha256)
    WHERE outcome = 'processed';

CREATE TABLE row_result (
    submission_id uuid NOT NULL REFERENCES submission (id),
    line_no       int  NOT NULL,
    person_masked text,
    category      text,
    accepted      bool NOT NULL,
    reason_code   text,
    reason        text,
    PRIMARY KEY (submission_id, line_no)
);

CREATE TABLE status (
    person_id     text NOT NULL,
    category      text NOT NULL,
    department    text NOT NULL,
    region        text NOT NULL,
    certified_on  date NOT NULL,
    ended_on      date,
    township      text,
    village       text,
    submission_id uuid NOT NULL REFERENCES submission (id),
    PRIMARY KEY (person_id, category, certified_on)
);
CREATE INDEX status_by_department ON status (department, region, category);
