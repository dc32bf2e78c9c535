-- Who may call a service's HTTP API: one credential per region and role (shared/access.py). Only the
-- token's SHA-256 is stored. Each service names its roles in code (`shared.access.Roles`), which is the
-- only writer of this table and checks the role; identity certification keeps its department
-- credentials in a table of its own.
-- IF NOT EXISTS: schemas migrated before this file existed got the same table from their service's
-- own migration.

CREATE TABLE IF NOT EXISTS credential (
    token_sha256 text        PRIMARY KEY,
    region       text        NOT NULL,
    role         text        NOT NULL,
    holder       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
