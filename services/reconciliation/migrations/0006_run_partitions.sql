-- A run reads a region-year one range of person IDs at a time (memory bounded by a setting, not by
-- the region's size): the season's tables are indexed by region, year and person, in place of their
-- (region, year) indexes, which these serve as well.
DROP INDEX IF EXISTS receipt_by_year;
CREATE INDEX receipt_by_person ON receipt (region, year, person_id);
DROP INDEX IF EXISTS enrollment_payment_by_year;
CREATE INDEX enrollment_payment_by_person ON enrollment_payment (region, year, person_id);
DROP INDEX IF EXISTS due_by_year;
CREATE INDEX due_by_person ON due (region, year, person_id);
DROP INDEX IF EXISTS agent_collection_by_region;
CREATE INDEX agent_collection_by_person ON agent_collection (region, year, person_id);
DROP INDEX IF EXISTS refund_order_by_year;
CREATE INDEX refund_order_by_person ON refund_order (region, year, person_id);
-- A receipt's reversals, found by the receipt they reverse: reversals are few, so this index is small.
CREATE INDEX receipt_reversal ON receipt (original_receipt_no) WHERE original_receipt_no IS NOT NULL;
