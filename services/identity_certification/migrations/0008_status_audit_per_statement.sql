-- Issue 15, department lists at provincial scale: what a million-row list pays per row, paid per statement.
--
-- 1. The audit of status rows. A row-level PL/pgSQL trigger ran once per status row a list added or changed
--    (about half the time of a large merge); a statement-level trigger with transition tables writes the same
--    entries with one INSERT … SELECT. Every statement on `status` is still audited: no code path changes a
--    status unaudited. What each entry says is unchanged (0006): who (department/region), what (certified,
--    ended, changed), the person masked, the category, dates, submission and subtype.
-- 2. The references of status rows and row results to their submission. A foreign key checks each inserted
--    row with a query of its own (a million lookups of the same submission); a statement-level trigger checks
--    the distinct submissions of the whole statement, and refuses it, as the foreign key did, when one is
--    missing. The other side of the key: a submission is never deleted (it is the record of what a department
--    sent), now enforced.

DROP TRIGGER status_audited_insert ON status;
DROP TRIGGER status_audited_update ON status;
DROP FUNCTION audit_status();

CREATE FUNCTION audit_status_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, subject, detail)
    SELECT n.department || '/' || n.region, 'status.certified',
           left(n.person_id, 6) || repeat('*', 10) || right(n.person_id, 2),
           jsonb_build_object('category', n.category, 'certified_on', n.certified_on,
                              'ended_on', n.ended_on, 'submission_id', n.submission_id)
           || CASE WHEN n.subtype IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('subtype', n.subtype) END
    FROM inserted n;
    RETURN NULL;
END $$;

-- An updated row is paired with its old self by the key; a row whose key itself changed has no pair and is
-- recorded as changed. An update that changes nothing is not a change (as the row trigger's WHEN had it).
-- The planner knows nothing of a transition table's contents and chose a nested loop for the pairing: a
-- quadratic 11 minutes for 100,000 ended statuses. Without nested loops it hashes or merges: linear.
CREATE FUNCTION audit_status_updated() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
BEGIN
    INSERT INTO audit_log (actor, action, subject, detail)
    SELECT n.department || '/' || n.region,
           CASE WHEN n.ended_on IS NOT NULL AND o.ended_on IS NULL THEN 'status.ended' ELSE 'status.changed' END,
           left(n.person_id, 6) || repeat('*', 10) || right(n.person_id, 2),
           jsonb_build_object('category', n.category, 'certified_on', n.certified_on,
                              'ended_on', n.ended_on, 'submission_id', n.submission_id)
           || CASE WHEN n.subtype IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('subtype', n.subtype) END
    FROM updated n
    LEFT JOIN before_update o ON (o.person_id, o.region, o.category, o.certified_on)
                               = (n.person_id, n.region, n.category, n.certified_on)
    WHERE o.person_id IS NULL OR o IS DISTINCT FROM n;
    RETURN NULL;
END $$;

CREATE TRIGGER status_audited_insert AFTER INSERT ON status REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_status_inserted();
CREATE TRIGGER status_audited_update AFTER UPDATE ON status REFERENCING OLD TABLE AS before_update
    NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION audit_status_updated();

-- 2. References to the submission, checked per statement.
ALTER TABLE status DROP CONSTRAINT status_submission_id_fkey;
ALTER TABLE row_result DROP CONSTRAINT row_result_submission_id_fkey;

CREATE FUNCTION submission_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing uuid;
BEGIN
    SELECT r.submission_id INTO missing
    FROM (SELECT DISTINCT submission_id FROM referencing) r
    WHERE NOT EXISTS (SELECT 1 FROM submission s WHERE s.id = r.submission_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('%s refers to submission %s, which does not exist', TG_TABLE_NAME, missing),
            TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER status_submission_inserted AFTER INSERT ON status REFERENCING NEW TABLE AS referencing
    FOR EACH STATEMENT EXECUTE FUNCTION submission_referenced();
CREATE TRIGGER status_submission_updated AFTER UPDATE ON status REFERENCING NEW TABLE AS referencing
    FOR EACH STATEMENT EXECUTE FUNCTION submission_referenced();
CREATE TRIGGER row_result_submission_inserted AFTER INSERT ON row_result REFERENCING NEW TABLE AS referencing
    FOR EACH STATEMENT EXECUTE FUNCTION submission_referenced();
CREATE TRIGGER row_result_submission_updated AFTER UPDATE ON row_result REFERENCING NEW TABLE AS referencing
    FOR EACH STATEMENT EXECUTE FUNCTION submission_referenced();

CREATE FUNCTION submission_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a submission is the record of what a department sent: it is never deleted';
END $$;

CREATE TRIGGER submission_never_deleted BEFORE DELETE OR TRUNCATE ON submission
    FOR EACH STATEMENT EXECUTE FUNCTION submission_kept();
