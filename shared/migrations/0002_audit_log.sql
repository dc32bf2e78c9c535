-- The append-only audit log of who changed what, in every service schema.
-- Rows are only ever inserted (shared/audit.py, or a service's triggers); an UPDATE,
-- DELETE or TRUNCATE is refused by the database itself, whoever asks.
-- `subject` never holds a full resident ID: a masked ID or a pseudonymous key.

CREATE TABLE audit_log (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text        NOT NULL,   -- who: "civil_affairs/340321", "service:subsidy", "user:…"
    action   text        NOT NULL,   -- what: "submission.processed", "status.ended" …
    subject  text        NOT NULL,   -- on what: a submission id, a masked person, a refund id
    detail   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
