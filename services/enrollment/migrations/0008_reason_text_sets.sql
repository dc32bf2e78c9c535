-- A due's reasons kept once per distinct list (text_set, content-addressed by the MD5 of the JSON list)
-- and referred to from the due: the same words for everyone who shares the facts, a kilobyte each, and
-- written with every due they were the largest part of the WAL.
CREATE TABLE text_set (
    id uuid PRIMARY KEY,
    texts jsonb NOT NULL
);
INSERT INTO text_set (id, texts) SELECT DISTINCT md5(reasons::text)::uuid, reasons FROM due;
ALTER TABLE due ADD COLUMN reasons_id uuid;
UPDATE due SET reasons_id = md5(reasons::text)::uuid;
ALTER TABLE due ALTER COLUMN reasons_id SET NOT NULL;
ALTER TABLE due DROP COLUMN reasons;
