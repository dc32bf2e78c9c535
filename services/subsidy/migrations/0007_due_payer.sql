-- The payer's facts with each due (issue 13, point 1): the kind, its event date, the statuses and the
-- history the rules read. They travel on subsidy.due-assessed so that the tax side judges a receipt by
-- the payer's own path on the receipt's own date; a change of them is a new revision even when the
-- money stays. Rows from before have none (NULL): their next reassessment fills them in.
ALTER TABLE due ADD COLUMN payer jsonb;
