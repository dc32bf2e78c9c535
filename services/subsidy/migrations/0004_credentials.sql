-- Who may call the subsidy API: a credential per region and role (tax_gateway: quotes;
-- viewer: ledger, totals, refunds; refund_clerk: also moves refunds). Only the token's
-- hash is stored. Each refund step also keeps the credential holder that recorded it,
-- beside the actor the clerk typed.

CREATE TABLE credential (
    token_sha256 text        PRIMARY KEY,
    region       text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('tax_gateway', 'viewer', 'refund_clerk')),
    holder       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

ALTER TABLE refund_transition ADD COLUMN recorded_by text;
