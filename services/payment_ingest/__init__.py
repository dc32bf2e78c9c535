"""payment_ingest: tax receipts validated, de-duplicated (receipt number + payload hash) and recorded."""
