-- History reaches the engine (issue 13, point 3): the years a person had basic medical cover before this
-- system knew them (declared at registration from the national platform's record), the years they paid
-- back (补缴 receipts, seed 004 L108) and the years nothing was reimbursed; with enrollment's own paid
-- years they decide waiting periods and the critical-illness cap adjustment (国办发〔2024〕38号; seed 004
-- L106-108), which each enrollment now keeps.
CREATE TABLE coverage_history (
    person_id          text        NOT NULL,
    year               int         NOT NULL,
    covered            boolean     NOT NULL DEFAULT false,  -- declared: had basic medical cover that year
    zero_reimbursement boolean     NOT NULL DEFAULT false,  -- declared: covered, nothing reimbursed
    paid_back_receipt  text,                                -- a gap year paid back by this receipt
    source             text        NOT NULL,                -- who said so: the registering office, a payback
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);

ALTER TABLE enrollment ADD COLUMN cap_adjustment_fen bigint NOT NULL DEFAULT 0;
ALTER TABLE payment ADD COLUMN item text NOT NULL DEFAULT 'resident_medical_insurance';
-- the history each enrollment was judged with (what its waiting period and cap adjustment rest on)
ALTER TABLE enrollment ADD COLUMN enrolled_years jsonb NOT NULL DEFAULT '[]';
ALTER TABLE enrollment ADD COLUMN paid_back_years jsonb NOT NULL DEFAULT '[]';
ALTER TABLE enrollment ADD COLUMN zero_reimbursement_years jsonb NOT NULL DEFAULT '[]';
