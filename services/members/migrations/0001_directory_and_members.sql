-- Shops, their branches and staff, the API keys that act for them, and the
-- members of each shop (phone-only until they register).
-- depends:

CREATE TABLE shops (
    shop_id     UUID PRIMARY KEY,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone    TEXT        NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE branches (
    branch_id   UUID PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (shop_id, name),
    UNIQUE (shop_id, branch_id)
);

-- A staff member acts for one branch, or for every branch of the shop
-- (branch_id NULL: a manager).
CREATE TABLE staff (
    staff_id    UUID PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    branch_id   UUID,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (shop_id, branch_id) REFERENCES branches (shop_id, branch_id)
);

-- Only the SHA-256 of a key is kept; the key itself is shown once.
CREATE TABLE api_keys (
    key_id      UUID PRIMARY KEY,
    key_hash    BYTEA       NOT NULL UNIQUE,
    prefix      TEXT        NOT NULL,
    role        TEXT        NOT NULL CHECK (role IN ('platform_operator', 'shop_admin', 'branch_staff', 'internal_system')),
    shop_id     UUID        REFERENCES shops,
    branch_id   UUID,
    staff_id    UUID        REFERENCES staff,
    label       TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ,
    CHECK ((role = 'platform_operator') = (shop_id IS NULL)),
    CHECK (branch_id IS NULL OR role = 'branch_staff'),
    CHECK ((role = 'branch_staff') = (staff_id IS NOT NULL)),
    FOREIGN KEY (shop_id, branch_id) REFERENCES branches (shop_id, branch_id)
);

-- Running totals are projections of points events: lifetime points received,
-- and the last balance the points service reported (balance_seq orders them).
CREATE TABLE members (
    member_id        UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    phone            TEXT        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'phone_only' CHECK (status IN ('phone_only', 'registered')),
    lifetime_points  BIGINT      NOT NULL DEFAULT 0,
    points_balance   BIGINT      NOT NULL DEFAULT 0,
    balance_seq      BIGINT      NOT NULL DEFAULT 0,
    sales_count      BIGINT      NOT NULL DEFAULT 0,
    spend_satang     BIGINT      NOT NULL DEFAULT 0,
    last_sale_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (shop_id, phone)
);
