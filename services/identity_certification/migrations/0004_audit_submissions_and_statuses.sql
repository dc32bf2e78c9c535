-- Who changed what in identity certification, into the append-only audit_log
-- (shared/migrations/0002_audit_log.sql): every submission (its department and
-- region are the credential's, never the body's) and every status row it added,
-- ended or changed. Triggers, so that no code path can change a status unaudited.
-- Persons are recorded masked (region code + last two characters).

CREATE FUNCTION audit_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.outcome IS DISTINCT FROM OLD.outcome OR NEW.rows_total IS DISTINCT FROM OLD.rows_total THEN
        INSERT INTO audit_log (actor, action, subject, detail) VALUES (
            NEW.department || '/' || NEW.region,
            -- a submission is inserted as 'processed' before its rows are read (the claim), then updated
            CASE WHEN TG_OP = 'INSERT' AND NEW.outcome = 'processed' THEN 'submission.received'
                 ELSE 'submission.' || NEW.outcome END,
            NEW.id::text,
            jsonb_build_object('period', NEW.period, 'mode', NEW.mode, 'rows_total', NEW.rows_total,
                               'rows_accepted', NEW.rows_accepted, 'rows_rejected', NEW.rows_rejected,
                               'content_sha256', NEW.content_sha256));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER submission_audited_insert AFTER INSERT ON submission
    FOR EACH ROW EXECUTE FUNCTION audit_submission();
CREATE TRIGGER submission_audited_update AFTER UPDATE ON submission
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_submission();

CREATE FUNCTION audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, subject, detail) VALUES (
        NEW.department || '/' || NEW.region,
        CASE WHEN TG_OP = 'INSERT' THEN 'status.certified'
             WHEN NEW.ended_on IS NOT NULL AND OLD.ended_on IS NULL THEN 'status.ended'
             ELSE 'status.changed' END,
        left(NEW.person_id, 6) || repeat('*', 10) || right(NEW.person_id, 2),
        jsonb_build_object('category', NEW.category, 'certified_on', NEW.certified_on,
                           'ended_on', NEW.ended_on, 'submission_id', NEW.submission_id));
    RETURN NEW;
END $$;

CREATE TRIGGER status_audited_insert AFTER INSERT ON status
    FOR EACH ROW EXECUTE FUNCTION audit_status();
-- an upsert that changes nothing is not a change
CREATE TRIGGER status_audited_update AFTER UPDATE ON status
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_status();
