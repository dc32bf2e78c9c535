-- No double refund (domain/netting.py): enrollment keeps the refunds the subsidy service ordered
-- (subsidy.refund-ordered: 先缴后补, the township pays the subsidised part back) so that a personal
-- refund returns no more than what the person finally bore.
--
-- withheld_fen: the part of an order that reached enrollment after the personal refund was approved
-- and would return more than was paid; the township must not pay it. note: why, for the clerk.

CREATE TABLE subsidy_refund (
    id             uuid        PRIMARY KEY,
    person_id      text        NOT NULL,
    region         text        NOT NULL,
    year           int         NOT NULL,
    reason         text        NOT NULL,
    amount_fen     bigint      NOT NULL CHECK (amount_fen >= 0),
    ordered_at     timestamptz NOT NULL,
    funding_source text,
    township       text,
    withheld_fen   bigint      NOT NULL DEFAULT 0 CHECK (withheld_fen BETWEEN 0 AND amount_fen),
    note           text,
    recorded_at    timestamptz NOT NULL
);
CREATE INDEX subsidy_refund_by_person ON subsidy_refund (person_id, region, year);

-- A personal refund keeps what was paid when it was decided and the subsidy refunds it netted.
ALTER TABLE refund
    ADD COLUMN paid_fen             bigint,
    ADD COLUMN subsidy_refunded_fen bigint NOT NULL DEFAULT 0;
