-- Member tiers: each shop's tiers (up to 5, ordered thresholds) and the tier
-- each member holds. (Skeleton: the tiers work extends this file.)
-- depends: 0002_registration

CREATE TABLE tiers (
    tier_id     UUID PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    position    INTEGER     NOT NULL CHECK (position BETWEEN 1 AND 5),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    threshold   BIGINT      NOT NULL CHECK (threshold >= 0),
    UNIQUE (shop_id, position),
    UNIQUE (shop_id, name)
);

ALTER TABLE members
    ADD COLUMN tier_id          UUID REFERENCES tiers,
    ADD COLUMN tier_reached_at  TIMESTAMPTZ;
