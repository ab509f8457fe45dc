-- The rewards service: its copy of shops (time zone, the key of its coupon
-- codes, the next code number), the reward catalogue, redemptions (the
-- business transaction across rewards and points, as a state machine),
-- coupons (born only through rewards.coupons.issue), code pools uploaded by
-- shops, and the delivery history of delivery rewards.

CREATE TABLE shops (
    shop_id     UUID PRIMARY KEY,
    timezone    TEXT        NOT NULL,
    code_key    BYTEA       NOT NULL CHECK (length(code_key) = 32),
    next_code   BIGINT      NOT NULL DEFAULT 0 CHECK (next_code >= 0 AND next_code <= 1099511627776),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE rewards (
    reward_id        UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    kind             TEXT        NOT NULL CHECK (kind IN ('in_store', 'delivery', 'code')),
    code_source      TEXT        NOT NULL DEFAULT 'generated' CHECK (code_source IN ('generated', 'pool')),
    name             TEXT        NOT NULL,
    description      TEXT        NOT NULL DEFAULT '',
    image_url        TEXT,
    points_cost      BIGINT      NOT NULL CHECK (points_cost > 0),
    stock_total      BIGINT      CHECK (stock_total >= 0),         -- NULL: unlimited
    stock_left       BIGINT      CHECK (stock_left >= 0),
    valid_from       TIMESTAMPTZ,
    valid_to         TIMESTAMPTZ,
    coupon_days      INT         CHECK (coupon_days BETWEEN 1 AND 3650),  -- NULL: until valid_to, or never
    per_member_limit INT         CHECK (per_member_limit >= 1),
    tiers            TEXT[]      NOT NULL DEFAULT '{}',             -- empty: every member
    branch_ids       UUID[]      NOT NULL DEFAULT '{}',             -- empty: every branch
    visible          BOOLEAN     NOT NULL DEFAULT true,
    status           TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    version          INT         NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((stock_total IS NULL) = (stock_left IS NULL)),
    CHECK (stock_left <= stock_total),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from)
);
CREATE INDEX rewards_of_shop ON rewards (shop_id, created_at);

-- A shop's own codes for a 'code' reward with code_source 'pool': each given once.
CREATE TABLE code_pool (
    reward_id   UUID        NOT NULL REFERENCES rewards,
    code        TEXT        NOT NULL,
    coupon_id   UUID,
    added_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (reward_id, code)
);
CREATE INDEX code_pool_free ON code_pool (reward_id) WHERE coupon_id IS NULL;

-- reserved -> completed | compensating -> failed (or reserved -> failed when points
-- refused the spend). A reserved redemption holds one unit of stock; `spend` is the
-- exact request sent to points (replayed as it is by the recovery sweep). `refund`
-- is 'due' when points must be given back (a cancelled delivery) and 'done' after.
CREATE TABLE redemptions (
    redemption_id    UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    reward_id        UUID        NOT NULL REFERENCES rewards,
    phone            TEXT        NOT NULL,
    points           BIGINT      NOT NULL CHECK (points > 0),
    state            TEXT        NOT NULL DEFAULT 'reserved'
                     CHECK (state IN ('reserved', 'completed', 'compensating', 'failed')),
    spend            JSONB       NOT NULL,
    actor            JSONB       NOT NULL,
    branch_id        UUID,
    address          JSONB,
    stock_reserved   BOOLEAN     NOT NULL,                    -- took a unit of a limited stock
    coupon_id        UUID,
    failure_code     TEXT,
    failure_message  TEXT,
    refund           TEXT        CHECK (refund IN ('due', 'done')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at       TIMESTAMPTZ,
    UNIQUE (shop_id, idempotency_key),
    CHECK ((state = 'completed') = (coupon_id IS NOT NULL))
);
CREATE INDEX redemptions_unsettled ON redemptions (created_at)
    WHERE state IN ('reserved', 'compensating') OR refund = 'due';
CREATE INDEX redemptions_of_member ON redemptions (shop_id, phone, reward_id);

-- No foreign keys to shops and rewards here, on purpose: a campaign writes a million
-- coupons in one COPY, and each key costs a lookup per row (6-7 s per million on the
-- bench machine, each). Coupons are born only in rewards.coupons.issue, with their
-- reward read (and, for a batch, locked) in the same transaction; shops and rewards are
-- never deleted (rewards are archived).
CREATE TABLE coupons (
    coupon_id      UUID PRIMARY KEY,
    shop_id        UUID        NOT NULL,
    code           TEXT        NOT NULL,
    reward_id      UUID        NOT NULL,
    reward_version INT         NOT NULL,
    kind           TEXT        NOT NULL,
    name           TEXT        NOT NULL,                 -- the reward's terms when issued: later edits do not apply
    branch_ids     UUID[]      NOT NULL,
    phone          TEXT        NOT NULL,
    source         TEXT        NOT NULL CHECK (source IN ('redemption', 'campaign', 'stamp_card', 'welcome', 'admin')),
    source_ref     TEXT,
    redemption_id  UUID UNIQUE,
    points_cost    BIGINT      NOT NULL DEFAULT 0,
    external_code  TEXT,
    status         TEXT        NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'used', 'expired', 'cancelled')),
    delivery       TEXT        CHECK (delivery IN ('requested', 'preparing', 'shipped', 'delivered', 'cancelled')),
    carrier        TEXT,
    tracking_no    TEXT,
    issued_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ,
    warned_at      TIMESTAMPTZ,
    used_at        TIMESTAMPTZ,
    used_branch_id UUID,
    used_by        TEXT,
    expired_at     TIMESTAMPTZ,
    UNIQUE (shop_id, code),
    CHECK ((kind = 'delivery') = (delivery IS NOT NULL))
);
CREATE INDEX coupons_of_member ON coupons (shop_id, phone, issued_at DESC);
-- Delivery coupons do not expire: once redeemed, the parcel is owed (it is shipped or cancelled).
CREATE INDEX coupons_due ON coupons (expires_at) WHERE status = 'issued' AND expires_at IS NOT NULL;
CREATE INDEX coupons_of_reward ON coupons (reward_id);

-- Every use, undo of a use, delivery step and cancellation: who, when, why.
CREATE TABLE coupon_history (
    history_id   BIGSERIAL PRIMARY KEY,
    coupon_id    UUID        NOT NULL REFERENCES coupons,
    action       TEXT        NOT NULL,
    branch_id    UUID,
    actor        JSONB,
    reason       TEXT,
    detail       JSONB,
    at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX coupon_history_of_coupon ON coupon_history (coupon_id, history_id);
