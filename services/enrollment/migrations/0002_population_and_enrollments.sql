-- The population baseline (household register with township and village), each
-- person's enrollment per coverage year, and the statuses departments certified.

CREATE TABLE population (
    person_id   text        PRIMARY KEY,
    region      text        NOT NULL,
    township    text,
    village     text,
    name        text,
    source      text        NOT NULL,
    imported_at timestamptz NOT NULL
);
CREATE INDEX population_by_place ON population (region, township, village);

CREATE TABLE enrollment (
    person_id      text        NOT NULL,
    year           int         NOT NULL,
    region         text        NOT NULL,
    kind           text        NOT NULL DEFAULT 'general',
    state          text        NOT NULL CHECK (state IN ('registered', 'paid', 'ended')),
    paid_total_fen bigint      NOT NULL DEFAULT 0,
    township       text,
    village        text,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);

CREATE TABLE person_status (
    person_id  text        PRIMARY KEY,
    region     text        NOT NULL,
    statuses   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
