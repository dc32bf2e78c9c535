-- The receipt table grows fastest of all at the December peak. Its batch look-ups
-- (receipt_no = ANY(...)) need statistics to be planned as index scans: analyze it after
-- 2 % growth (default 10 %) and at least every 5,000 changed rows.
ALTER TABLE receipt SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 5000);
-- The outbox is emptied as fast as it fills: vacuum it by row count, not by its (tiny) size.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000);
