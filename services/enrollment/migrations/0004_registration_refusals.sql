-- Refused registrations, kept with their reason (issue 13, point 8): a refusal was only
-- answered (422 with reason_code and reasons) and nothing of it stayed. One row per refusal
-- as asked: who asked (the credential's holder), for which region, year and kind, what was
-- declared, the line it stood on in a bulk list, the reason code and the reasons in words.
-- The person's record (一人一档) shows them; the person_id is kept like everywhere in this
-- schema (answers and logs mask it).

CREATE TABLE registration_refusal (
    id               uuid        PRIMARY KEY,
    person_id        text        NOT NULL,
    region           text        NOT NULL,
    year             int         NOT NULL,
    kind             text        NOT NULL,
    hukou_region     text,
    residence_region text,
    school_region    text,
    event_date       date,
    registered_on    date        NOT NULL,
    line_no          int         NOT NULL CHECK (line_no >= 1),
    reason_code      text        NOT NULL,
    reasons          jsonb       NOT NULL,
    requested_by     text        NOT NULL,
    refused_at       timestamptz NOT NULL
);
CREATE INDEX registration_refusal_by_person ON registration_refusal (person_id, region, year);
CREATE INDEX registration_refusal_by_reason ON registration_refusal (region, year, reason_code);
