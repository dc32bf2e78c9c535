-- Issue 15, department lists at provincial scale: what a department watches while its list is processed.
-- A list is applied in one transaction, so its own rows are seen only at the commit; its progress is written
-- beside it, committed at once by another connection, one row per submission (hence no foreign key: the
-- submission row is not committed yet). The session doing the work (pid and start time) tells a list still
-- being processed from one whose process died; a re-post of the same content supersedes the dead attempt.

CREATE TABLE submission_progress (
    submission_id  uuid        PRIMARY KEY,
    department     text        NOT NULL,
    region         text        NOT NULL,
    period         text        NOT NULL,
    source         text        NOT NULL,
    content_sha256 text        NOT NULL,
    phase          text        NOT NULL CHECK (phase IN ('reading', 'merging', 'announcing', 'committing',
                                                         'processed', 'refused', 'duplicate', 'failed')),
    rows_read      bigint      NOT NULL DEFAULT 0,
    rows_validated bigint      NOT NULL DEFAULT 0,
    rows_merged    bigint      NOT NULL DEFAULT 0,
    events_written bigint      NOT NULL DEFAULT 0,
    detail         text,
    backend_pid    int         NOT NULL,
    backend_start  timestamptz NOT NULL,
    started_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submission_progress_by_department ON submission_progress (department, region, started_at);
