-- Who has paid for which year, and where they live: the numerator of every
-- progress figure per village and township.

CREATE TABLE paid_person (
    person_id      text        NOT NULL,
    year           int         NOT NULL,
    region         text        NOT NULL,
    township       text,
    village        text,
    paid_total_fen bigint      NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (person_id, year)
);
CREATE INDEX paid_person_by_place ON paid_person (region, year, township, village);
