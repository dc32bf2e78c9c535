-- Issue 15, "files as departments really send them": a 防止返贫监测对象 list says which kind of household each
-- person is (监测类型: 脱贫不稳定户, 边缘易致贫户, 突发严重困难户). The kind is kept on the status (a policy may
-- pay the kinds differently) and on the row result the department downloads; the row result also says when
-- the file had no 人员类别 and the department's only category was assumed. Existing rows keep no subtype.

ALTER TABLE status ADD COLUMN subtype text;
-- Only the monitoring category has kinds; the codes themselves live in shared/codes.py (MonitoringSubtype).
ALTER TABLE status ADD CONSTRAINT status_subtype_of_monitoring
    CHECK (subtype IS NULL OR category = 'poverty_monitoring');

ALTER TABLE row_result
    ADD COLUMN subtype          text,
    ADD COLUMN category_assumed bool NOT NULL DEFAULT false;

-- The audit trail names the subtype too: a corrected kind on the same certification is a change of its own.
CREATE OR REPLACE FUNCTION audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, subject, detail) VALUES (
        NEW.department || '/' || NEW.region,
        CASE WHEN TG_OP = 'INSERT' THEN 'status.certified'
             WHEN NEW.ended_on IS NOT NULL AND OLD.ended_on IS NULL THEN 'status.ended'
             ELSE 'status.changed' END,
        left(NEW.person_id, 6) || repeat('*', 10) || right(NEW.person_id, 2),
        jsonb_build_object('category', NEW.category, 'certified_on', NEW.certified_on,
                           'ended_on', NEW.ended_on, 'submission_id', NEW.submission_id)
        || CASE WHEN NEW.subtype IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('subtype', NEW.subtype) END);
    RETURN NEW;
END $$;
