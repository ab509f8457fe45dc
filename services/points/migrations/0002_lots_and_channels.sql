-- The full ledger: lots (one per credit, each with its expiry), what took points
-- from which lot, spends for rewards, voids (and what could not be taken back),
-- orders from other systems with their refunds, one-time and printed QR codes,
-- and each shop's points settings.
-- depends: 0001_ledger

CREATE TABLE points_settings (
    shop_id         UUID PRIMARY KEY REFERENCES shops,
    expiry_mode     TEXT        NOT NULL DEFAULT 'never' CHECK (expiry_mode IN ('months', 'year_end', 'never')),
    expiry_months   INT         CHECK (expiry_months BETWEEN 1 AND 24),
    warn_days       INT         NOT NULL DEFAULT 30 CHECK (warn_days BETWEEN 1 AND 90),
    welcome_points  BIGINT      NOT NULL DEFAULT 0 CHECK (welcome_points BETWEEN 0 AND 1000000),
    qr_minutes      INT         NOT NULL DEFAULT 10 CHECK (qr_minutes BETWEEN 1 AND 1440),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((expiry_mode = 'months') = (expiry_months IS NOT NULL))
);

-- A rule row per change. The rule of a branch is its newest row unless that row
-- removes the branch's own rule; otherwise the shop's newest row (branch_id NULL).
ALTER TABLE earn_rules ADD COLUMN branch_id UUID REFERENCES branches;
ALTER TABLE earn_rules ADD COLUMN removed BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE earn_rules ADD CHECK (NOT removed OR branch_id IS NOT NULL);
CREATE INDEX earn_rules_newest ON earn_rules (shop_id, branch_id, version DESC);

-- What an entry answers to: an order id, a spend key, a QR id, an adjustment key.
ALTER TABLE entries ADD COLUMN ref TEXT;
CREATE INDEX entries_by_shop_day ON entries (shop_id, created_at);
CREATE INDEX entries_referring ON entries (ref_entry_id) WHERE ref_entry_id IS NOT NULL;

ALTER TABLE sales ADD COLUMN source TEXT NOT NULL DEFAULT 'counter' CHECK (source IN ('counter', 'qr'));

-- Points are held in lots, one per credit. Spending, voiding and expiring take
-- from lots (soonest expiry first); sum(remaining) of an account = its balance.
CREATE TABLE lots (
    lot_id            BIGSERIAL PRIMARY KEY,
    shop_id           UUID        NOT NULL,
    phone             TEXT        NOT NULL,
    entry_id          BIGINT      NOT NULL UNIQUE REFERENCES entries,
    points            BIGINT      NOT NULL CHECK (points > 0),
    remaining         BIGINT      NOT NULL,
    expires_at        TIMESTAMPTZ,
    warned_at         TIMESTAMPTZ,
    expired_entry_id  BIGINT      REFERENCES entries,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts,
    CONSTRAINT lot_remaining_within_points CHECK (remaining BETWEEN 0 AND points)
);
CREATE INDEX lots_open_by_account ON lots (shop_id, phone, expires_at, lot_id) WHERE remaining > 0;
CREATE INDEX lots_open_by_expiry ON lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- Every points move between an entry and a lot: negative took from the lot,
-- positive gave back (a refunded spend). Expiry is recorded on the lot itself.
CREATE TABLE lot_moves (
    entry_id  BIGINT NOT NULL REFERENCES entries,
    lot_id    BIGINT NOT NULL REFERENCES lots,
    points    BIGINT NOT NULL CHECK (points <> 0),
    PRIMARY KEY (entry_id, lot_id)
);
CREATE INDEX lot_moves_by_lot ON lot_moves (lot_id);

-- Points earned before lots existed become lots that never expire.
INSERT INTO lots (shop_id, phone, entry_id, points, remaining, created_at)
SELECT shop_id, phone, entry_id, points, points, created_at FROM entries WHERE kind = 'earn' AND points > 0;

-- Spends for rewards, keyed by the caller's key (a redemption id).
CREATE TABLE spends (
    shop_id          UUID        NOT NULL,
    spend_key        TEXT        NOT NULL,
    phone            TEXT        NOT NULL,
    points           BIGINT      NOT NULL CHECK (points > 0),
    entry_id         BIGINT      NOT NULL REFERENCES entries,
    fingerprint      TEXT        NOT NULL,
    reason           TEXT,
    refund_entry_id  BIGINT      REFERENCES entries,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, spend_key),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts
);

-- A void takes back a credit's points; what the member already spent cannot be
-- taken back without a negative balance, so it is recorded as unrecovered.
CREATE TABLE voids (
    void_id          UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL,
    cause            TEXT        NOT NULL CHECK (cause IN ('void', 'order_refund')),
    target_entry_id  BIGINT      NOT NULL REFERENCES entries,
    entry_id         BIGINT      REFERENCES entries,
    requested        BIGINT      NOT NULL CHECK (requested > 0),
    recovered        BIGINT      NOT NULL CHECK (recovered >= 0),
    unrecovered      BIGINT      NOT NULL CHECK (unrecovered >= 0),
    balance_after    BIGINT      NOT NULL,
    reason           TEXT        NOT NULL,
    actor_type       TEXT        NOT NULL,
    actor_id         TEXT,
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (recovered + unrecovered = requested),
    CHECK ((entry_id IS NULL) = (recovered = 0)),
    UNIQUE (shop_id, idempotency_key)
);
-- A credit is voided once in full (order refunds take it back in parts instead).
CREATE UNIQUE INDEX voids_once_per_credit ON voids (target_entry_id) WHERE cause = 'void';

-- Orders from another system (a marketplace, an online shop): one earn per order id.
CREATE TABLE orders (
    shop_id          UUID        NOT NULL REFERENCES shops,
    order_id         TEXT        NOT NULL,
    phone            TEXT        NOT NULL,
    branch_id        UUID        REFERENCES branches,
    amount_satang    BIGINT      NOT NULL CHECK (amount_satang > 0),
    points           BIGINT      NOT NULL CHECK (points >= 0),
    rule_version     INT         NOT NULL,
    entry_id         BIGINT      REFERENCES entries,
    fingerprint      TEXT        NOT NULL,
    balance_at_order BIGINT,
    refunded_satang  BIGINT      NOT NULL DEFAULT 0,
    voided_points    BIGINT      NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts,
    CHECK (refunded_satang BETWEEN 0 AND amount_satang),
    CHECK (voided_points BETWEEN 0 AND points)
);

CREATE TABLE order_refunds (
    shop_id        UUID        NOT NULL,
    order_id       TEXT        NOT NULL,
    refund_id      TEXT        NOT NULL,
    amount_satang  BIGINT      NOT NULL CHECK (amount_satang > 0),
    points_voided  BIGINT      NOT NULL CHECK (points_voided >= 0),
    void_id        UUID        REFERENCES voids,
    balance_after  BIGINT      NOT NULL,
    fingerprint    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id, refund_id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders
);

-- One-time QR codes staff create for a sale; claimed once, before they expire.
CREATE TABLE qr_codes (
    qr_id            UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    branch_id        UUID        NOT NULL REFERENCES branches,
    amount_satang    BIGINT      NOT NULL CHECK (amount_satang > 0),
    receipt_no       TEXT,
    created_by_type  TEXT        NOT NULL,
    created_by_id    TEXT,
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at       TIMESTAMPTZ NOT NULL,
    claimed_at       TIMESTAMPTZ,
    claimed_phone    TEXT,
    sale_id          UUID        REFERENCES sales,
    UNIQUE (shop_id, idempotency_key),
    CHECK ((claimed_at IS NULL) = (claimed_phone IS NULL))
);

-- A branch's printed QR: reusable, a fixed number of points, a daily limit per member.
CREATE TABLE printed_qrs (
    branch_id    UUID PRIMARY KEY REFERENCES branches,
    shop_id      UUID        NOT NULL REFERENCES shops,
    enabled      BOOLEAN     NOT NULL DEFAULT false,
    points       BIGINT      NOT NULL CHECK (points BETWEEN 1 AND 10000),
    daily_limit  INT         NOT NULL CHECK (daily_limit BETWEEN 1 AND 100),
    generation   INT         NOT NULL DEFAULT 1,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Scans per member per branch per shop day, never past the limit.
CREATE TABLE printed_qr_scans (
    branch_id  UUID NOT NULL,
    phone      TEXT NOT NULL,
    day        DATE NOT NULL,
    scans      INT  NOT NULL CHECK (scans >= 1),
    PRIMARY KEY (branch_id, phone, day)
);
