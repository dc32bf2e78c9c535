-- What the subsidy service says about each payer (issue 13, point 1): the due's state and the payer's
-- facts (kind, event date, statuses, history) from subsidy.due-assessed, so that a receipt is judged by
-- the payer's own path on the receipt's own date. Rows from before have none: judged as before
-- (a general resident's window, the assessed due) until the person's next revision arrives.
ALTER TABLE due ADD COLUMN state text NOT NULL DEFAULT 'active';
ALTER TABLE due ADD COLUMN payer jsonb;
