-- Member tiers: each shop's tier settings (versioned), its tiers (up to 5,
-- ordered thresholds), the tier each member holds, a per-member daily
-- projection of points received, every tier decision with its inputs, and
-- the cycle ends already evaluated.
-- depends: 0002_registration

-- Each change of a shop's tier settings is a new version; decisions record the
-- version they applied. `tiers` is the snapshot of that version's tiers:
-- [{"name", "threshold", "max_points"}], thresholds strictly increasing.
CREATE TABLE tier_settings (
    shop_id         UUID        NOT NULL REFERENCES shops,
    version         INTEGER     NOT NULL CHECK (version >= 1),
    window_months   INTEGER     NOT NULL CHECK (window_months IN (1, 3, 6, 12)),
    downgrade_mode  TEXT        NOT NULL CHECK (downgrade_mode IN ('tier_expiry', 'cycle')),
    expiry_months   INTEGER     CHECK (expiry_months BETWEEN 1 AND 36),
    cycle           TEXT        CHECK (cycle IN ('monthly', 'quarterly', 'half_yearly', 'yearly')),
    tiers           JSONB       NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, version),
    CHECK ((downgrade_mode = 'tier_expiry') = (expiry_months IS NOT NULL)),
    CHECK ((downgrade_mode = 'cycle') = (cycle IS NOT NULL))
);

-- A tier is one name of one shop; its row is kept when a later version drops it
-- (position NULL: retired), so members.tier_id always names what the member holds.
-- `tiers.name` joined on `members.tier_id` is the member's tier name.
CREATE TABLE tiers (
    tier_id     UUID PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    position    INTEGER     CHECK (position BETWEEN 1 AND 5),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    threshold   BIGINT      NOT NULL CHECK (threshold >= 0),
    version     INTEGER     NOT NULL,
    CONSTRAINT tiers_shop_position UNIQUE (shop_id, position) DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (shop_id, name)
);

ALTER TABLE members
    ADD COLUMN tier_id          UUID REFERENCES tiers,
    ADD COLUMN tier_reached_at  TIMESTAMPTZ;
-- Room in each page for a changed row's new version next to the old one (a HOT update:
-- no index touched). Members rows change often and in bulk (running totals on every
-- earn, tiers at each cycle end) and none of those columns is indexed.
ALTER TABLE members SET (fillfactor = 80);

-- Points received per member and shop-local day: credits (earned, welcome,
-- positive adjustments) minus voided credits. Spending and expiry never count.
CREATE TABLE member_daily_points (
    member_id  UUID   NOT NULL REFERENCES members ON DELETE CASCADE,
    day        DATE   NOT NULL,
    shop_id    UUID   NOT NULL,
    points     BIGINT NOT NULL,
    PRIMARY KEY (member_id, day)
);
-- a shop's window sums read from the index alone (the cycle)
CREATE INDEX member_daily_points_shop_day ON member_daily_points (shop_id, day) INCLUDE (member_id, points);

-- Every tier decision and its inputs: "why am I Gold?".
CREATE TABLE tier_decisions (
    decision_id       BIGSERIAL PRIMARY KEY,
    member_id         UUID        NOT NULL REFERENCES members ON DELETE CASCADE,
    shop_id           UUID        NOT NULL,
    decided_at        TIMESTAMPTZ NOT NULL,
    reason            TEXT        NOT NULL CHECK (reason IN ('upgrade', 'cycle_end', 'tier_expired', 'settings_changed')),
    from_tier_id      UUID,
    from_tier         TEXT,
    to_tier_id        UUID,
    to_tier           TEXT,
    window_points     BIGINT      NOT NULL,
    window_start      DATE        NOT NULL,
    window_end        DATE        NOT NULL,
    settings_version  INTEGER     NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tier_decisions_member ON tier_decisions (member_id, decision_id);
-- a shop's tier history in order (export)
CREATE INDEX tier_decisions_shop ON tier_decisions (shop_id, decision_id);

-- Cycle ends already evaluated (a cycle end is evaluated once).
CREATE TABLE tier_cycle_runs (
    shop_id           UUID        NOT NULL REFERENCES shops,
    cycle_end         DATE        NOT NULL,
    settings_version  INTEGER     NOT NULL,
    changed           BIGINT      NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, cycle_end)
);
