-- The points ledger. PostgreSQL itself keeps the invariants:
--  * an account's balance is the sum of its entries: only inserting an entry
--    moves it (trigger), and nothing else may change it;
--  * a balance is never negative (CHECK);
--  * entries are append-only: no UPDATE, DELETE or TRUNCATE.
-- depends:

-- Replica of the members service's shops and branches (filled from its
-- events, or by RPC on a miss), so that earning needs no call to another service.
CREATE TABLE shops (
    shop_id    UUID PRIMARY KEY,
    timezone   TEXT        NOT NULL,
    synced_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE branches (
    branch_id  UUID PRIMARY KEY,
    shop_id    UUID        NOT NULL REFERENCES shops,
    synced_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- "points per unit_satang of spend, rounding down"; a change is a new version.
CREATE TABLE earn_rules (
    shop_id           UUID        NOT NULL REFERENCES shops,
    version           INT         NOT NULL CHECK (version > 0),
    points            INT         NOT NULL CHECK (points BETWEEN 1 AND 1000),
    unit_satang       BIGINT      NOT NULL CHECK (unit_satang > 0),
    min_spend_satang  BIGINT      NOT NULL DEFAULT 0 CHECK (min_spend_satang >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, version)
);

-- One account per phone (E.164) in a shop, registered member or not.
CREATE TABLE accounts (
    shop_id     UUID        NOT NULL REFERENCES shops,
    phone       TEXT        NOT NULL,
    balance     BIGINT      NOT NULL DEFAULT 0 CONSTRAINT balance_never_negative CHECK (balance >= 0),
    entry_seq   BIGINT      NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, phone)
);

-- A sale is the record of the request that made it: its idempotency key and
-- the request's fingerprint live here, so a replay is answered from the sale.
CREATE TABLE sales (
    sale_id          UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    branch_id        UUID        NOT NULL REFERENCES branches,
    phone            TEXT        NOT NULL,
    amount_satang    BIGINT      NOT NULL CHECK (amount_satang > 0),
    receipt_no       TEXT,
    points           BIGINT      NOT NULL CHECK (points >= 0),
    rule_version     INT         NOT NULL,
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    -- the balance when a sale earned nothing (a sale that earned has its entry)
    balance_at_sale  BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts,
    UNIQUE (shop_id, idempotency_key)
);
-- The same receipt at the same branch never earns twice.
CREATE UNIQUE INDEX sales_receipt_once ON sales (shop_id, branch_id, receipt_no) WHERE receipt_no IS NOT NULL;

CREATE TABLE entries (
    entry_id       BIGSERIAL PRIMARY KEY,
    shop_id        UUID        NOT NULL,
    phone          TEXT        NOT NULL,
    kind           TEXT        NOT NULL CHECK (kind IN ('earn', 'welcome', 'redeem', 'expire', 'adjust', 'void')),
    points         BIGINT      NOT NULL CHECK (points <> 0),
    balance_after  BIGINT      NOT NULL,
    account_seq    BIGINT      NOT NULL,
    branch_id      UUID,
    sale_id        UUID        REFERENCES sales,
    source         TEXT        NOT NULL,
    actor_type     TEXT        NOT NULL,
    actor_id       TEXT,
    rule_version   INT,
    reason         TEXT,
    ref_entry_id   BIGINT      REFERENCES entries,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts,
    UNIQUE (shop_id, phone, account_seq)
);
CREATE INDEX entries_by_account ON entries (shop_id, phone, entry_id DESC);

-- Inserting an entry moves its account's balance under the account's row lock;
-- the entry records the balance after it and its position in the account.
CREATE FUNCTION entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET balance = balance + NEW.points, entry_seq = entry_seq + 1
    WHERE shop_id = NEW.shop_id AND phone = NEW.phone
    RETURNING balance, entry_seq INTO NEW.balance_after, NEW.account_seq;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no account % % for this entry', NEW.shop_id, NEW.phone
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER entries_apply BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION entries_apply();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- A balance moves only through an entry (the trigger above runs at depth 2).
CREATE FUNCTION accounts_balance_from_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.balance, NEW.entry_seq) IS DISTINCT FROM (OLD.balance, OLD.entry_seq) AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'an account balance changes only by inserting a ledger entry'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_balance_from_entries BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_balance_from_entries();
