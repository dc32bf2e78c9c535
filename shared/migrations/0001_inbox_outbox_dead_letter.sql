-- The machinery every service schema has: the inbox (idempotent consumption),
-- the outbox (events written in the same transaction as the state change) and
-- the dead letters (records that could not be read, exact bytes kept).

CREATE TABLE inbox (
    consumer    text        NOT NULL,
    message_id  uuid        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea       NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letter (
    id            bigserial   PRIMARY KEY,
    source_topic  text        NOT NULL,
    partition     int         NOT NULL,
    record_offset bigint      NOT NULL,
    raw           bytea       NOT NULL,
    raw_sha256    text        NOT NULL,
    reason        text        NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_topic, partition, record_offset)
);
