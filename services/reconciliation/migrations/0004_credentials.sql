-- Who may read and act on a region's reconciliation: a credential per region and role
-- (viewer: figures, lists, console; clerk: also imports, runs and resolutions). Only the
-- token's hash is stored.

CREATE TABLE credential (
    token_sha256 text        PRIMARY KEY,
    region       text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('viewer', 'clerk')),
    holder       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
