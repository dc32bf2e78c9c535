-- Count in = accepted + rejected + dead-lettered + duplicates, one row per consumed batch,
-- written in the batch's transaction: the durable tally the console counters are rebuilt from
-- (duplicates and dead letters leave no receipt row, so they are counted here).
CREATE TABLE receipt_intake (
    id             bigserial   PRIMARY KEY,
    received       int         NOT NULL,
    accepted       int         NOT NULL,
    rejected       int         NOT NULL,
    dead_lettered  int         NOT NULL,
    duplicate      int         NOT NULL,
    recorded_at    timestamptz NOT NULL,
    CHECK (received = accepted + rejected + dead_lettered + duplicate)
);

-- What has been reversed of an original receipt (reversals point at it).
CREATE INDEX receipt_reversals ON receipt (original_receipt_no)
    WHERE original_receipt_no IS NOT NULL AND verdict = 'accepted';
