-- Stamp cards (LINE OA Reward card): card designs with their lifecycle, each member's
-- current card of a design, the append-only stamp ledger, reward tickets, one-time and
-- printed stamp QR codes. PostgreSQL keeps the invariants, as for the points ledger:
--  * a member's stamps are the sum of their entries: only inserting an entry moves them
--    (trigger), nothing else may change them, and they are never negative (CHECK);
--  * entries are append-only (no UPDATE, DELETE, TRUNCATE; a member's erasure may turn
--    the phone into a pseudonym, a cancelled shop's purge may delete);
--  * a stamp is given only on an active card (checked under the card's KEY SHARE lock,
--    which a suspension's FOR UPDATE waits for);
--  * one active card per shop (unique index); a card's design never changes after its
--    activation (only its validity), and its status moves only draft -> active ->
--    suspended or draft -> deleted.
-- depends: 0003_spend_cancellations

CREATE TABLE stamp_cards (
    card_id          UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops ON DELETE CASCADE,
    status           TEXT        NOT NULL DEFAULT 'draft'
                                 CHECK (status IN ('draft', 'active', 'suspended', 'deleted')),
    name             TEXT        NOT NULL,
    stamps_to_fill   INT         NOT NULL CHECK (stamps_to_fill BETWEEN 1 AND 50),
    rule_mode        TEXT        NOT NULL CHECK (rule_mode IN ('per_visit', 'per_amount')),
    stamps_per_visit INT         NOT NULL DEFAULT 1 CHECK (stamps_per_visit BETWEEN 1 AND 50),
    unit_satang      BIGINT      CHECK (unit_satang > 0),
    max_per_purchase INT         NOT NULL DEFAULT 50 CHECK (max_per_purchase BETWEEN 1 AND 500),
    tickets          JSONB       NOT NULL,
    welcome_stamps   INT         NOT NULL DEFAULT 0 CHECK (welcome_stamps BETWEEN 0 AND 50),
    terms            TEXT,
    validity_mode    TEXT        NOT NULL DEFAULT 'none' CHECK (validity_mode IN ('none', 'date', 'days')),
    valid_until      TIMESTAMPTZ,
    valid_days       INT         CHECK (valid_days BETWEEN 1 AND 3650),
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    version          INT         NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    activated_at     TIMESTAMPTZ,
    suspended_at     TIMESTAMPTZ,
    deleted_at       TIMESTAMPTZ,
    -- every member's stamps of a suspended card are reset (in chunks); then this is set
    reset_done_at    TIMESTAMPTZ,
    UNIQUE (shop_id, idempotency_key),
    CHECK ((rule_mode = 'per_amount') = (unit_satang IS NOT NULL)),
    CHECK ((validity_mode = 'date') = (valid_until IS NOT NULL)),
    CHECK ((validity_mode = 'days') = (valid_days IS NOT NULL)),
    CHECK ((status = 'suspended') = (suspended_at IS NOT NULL))
);
CREATE UNIQUE INDEX stamp_cards_one_active_per_shop ON stamp_cards (shop_id) WHERE status = 'active';
CREATE INDEX stamp_cards_by_shop ON stamp_cards (shop_id, created_at DESC);

-- Draft: anything may change. Active: only the validity (and the move to suspended).
-- Suspended, deleted: nothing but the end of the reset.
CREATE FUNCTION stamp_cards_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM NEW.status AND NOT (
        (OLD.status = 'draft' AND NEW.status IN ('active', 'deleted'))
        OR (OLD.status = 'active' AND NEW.status = 'suspended')) THEN
        RAISE EXCEPTION 'a stamp card cannot go from % to %', OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'draft' AND (to_jsonb(NEW) - ARRAY['status', 'validity_mode', 'valid_until', 'valid_days',
            'version', 'updated_at', 'activated_at', 'suspended_at', 'deleted_at', 'reset_done_at'])
            IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'validity_mode', 'valid_until', 'valid_days',
            'version', 'updated_at', 'activated_at', 'suspended_at', 'deleted_at', 'reset_done_at']) THEN
        RAISE EXCEPTION 'the design of a % stamp card cannot change', OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status IN ('suspended', 'deleted') AND (to_jsonb(NEW) - 'reset_done_at')
            IS DISTINCT FROM (to_jsonb(OLD) - 'reset_done_at') THEN
        RAISE EXCEPTION 'a % stamp card cannot change', OLD.status USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stamp_cards_lifecycle BEFORE UPDATE ON stamp_cards
    FOR EACH ROW EXECUTE FUNCTION stamp_cards_lifecycle();

-- A member's card of a design: the stamps they hold on their current card (number
-- card_no: 1 for the first, 2 after the first filled or expired), when it started
-- (their first stamp on it) and when it expires. Keyed by the points account.
CREATE TABLE stamp_card_members (
    card_id          UUID        NOT NULL REFERENCES stamp_cards ON DELETE CASCADE,
    phone            TEXT        NOT NULL,
    shop_id          UUID        NOT NULL,
    stamps           INT         NOT NULL DEFAULT 0 CONSTRAINT stamps_never_negative CHECK (stamps >= 0),
    entry_seq        BIGINT      NOT NULL DEFAULT 0,
    card_no          INT         NOT NULL DEFAULT 1,
    started_at       TIMESTAMPTZ,
    expires_at       TIMESTAMPTZ,
    cards_completed  INT         NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (card_id, phone),
    FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX stamp_card_members_due ON stamp_card_members (expires_at) WHERE started_at IS NOT NULL;
CREATE INDEX stamp_card_members_by_phone ON stamp_card_members (shop_id, phone);

CREATE TABLE stamp_entries (
    entry_id          BIGSERIAL PRIMARY KEY,
    shop_id           UUID        NOT NULL,
    card_id           UUID        NOT NULL,
    phone             TEXT        NOT NULL,
    kind              TEXT        NOT NULL CHECK (kind IN ('grant', 'welcome', 'void', 'complete', 'expire', 'reset')),
    stamps            INT         NOT NULL,
    stamps_after      INT         NOT NULL,
    member_seq        BIGINT      NOT NULL,
    -- the member's card after this entry: its number, start and expiry
    card_no           INT         NOT NULL,
    card_started_at   TIMESTAMPTZ,
    card_expires_at   TIMESTAMPTZ,
    opens_card        BOOLEAN     NOT NULL DEFAULT false,
    branch_id         UUID,
    source            TEXT        NOT NULL,
    actor_type        TEXT        NOT NULL,
    actor_id          TEXT,
    reason            TEXT,
    ref               TEXT,
    ref_entry_id      BIGINT      REFERENCES stamp_entries,
    -- a void records what it could not take back (stamps of a card already filled or gone)
    unrecovered       INT         NOT NULL DEFAULT 0 CHECK (unrecovered >= 0),
    idempotency_key   TEXT,
    fingerprint       TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (card_id, phone) REFERENCES stamp_card_members ON UPDATE CASCADE ON DELETE CASCADE,
    UNIQUE (card_id, phone, member_seq),
    UNIQUE (shop_id, idempotency_key),
    CHECK (stamps <> 0 OR kind = 'void'),
    CHECK ((stamps > 0) = (kind IN ('grant', 'welcome')))
);
CREATE INDEX stamp_entries_by_member ON stamp_entries (card_id, phone, entry_id DESC);
CREATE INDEX stamp_entries_by_phone ON stamp_entries (shop_id, phone, entry_id DESC);
CREATE INDEX stamp_entries_by_shop_day ON stamp_entries (shop_id, created_at);
CREATE UNIQUE INDEX stamp_entries_void_once ON stamp_entries (ref_entry_id) WHERE kind = 'void';

CREATE FUNCTION stamp_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    card_status TEXT;
BEGIN
    IF NEW.stamps > 0 THEN
        SELECT status INTO card_status FROM stamp_cards WHERE card_id = NEW.card_id FOR KEY SHARE;
        IF card_status IS DISTINCT FROM 'active' THEN
            RAISE EXCEPTION 'stamp card % is %', NEW.card_id, coalesce(card_status, 'missing')
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    UPDATE stamp_card_members SET stamps = stamps + NEW.stamps, entry_seq = entry_seq + 1,
        card_no = NEW.card_no, started_at = NEW.card_started_at, expires_at = NEW.card_expires_at,
        cards_completed = cards_completed + CASE WHEN NEW.kind = 'complete' THEN 1 ELSE 0 END
    WHERE card_id = NEW.card_id AND phone = NEW.phone
    RETURNING stamps, entry_seq INTO NEW.stamps_after, NEW.member_seq;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no stamp card member % % for this entry', NEW.card_id, NEW.phone
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stamp_entries_apply BEFORE INSERT ON stamp_entries
    FOR EACH ROW EXECUTE FUNCTION stamp_entries_apply();

CREATE FUNCTION stamp_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.phone LIKE 'erased:%' AND OLD.phone NOT LIKE 'erased:%'
       AND to_jsonb(NEW) - 'phone' = to_jsonb(OLD) - 'phone' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND current_setting('points.purging_shop', true) = OLD.shop_id::text THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'stamp entries are append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER stamp_entries_append_only BEFORE UPDATE OR DELETE ON stamp_entries
    FOR EACH ROW EXECUTE FUNCTION stamp_entries_append_only();
CREATE TRIGGER stamp_entries_no_truncate BEFORE TRUNCATE ON stamp_entries
    FOR EACH STATEMENT EXECUTE FUNCTION stamp_entries_append_only();

-- A member's stamps move only through an entry (the trigger above runs at depth 2).
CREATE FUNCTION stamp_members_from_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.stamps, NEW.entry_seq, NEW.cards_completed) IS DISTINCT FROM
       (OLD.stamps, OLD.entry_seq, OLD.cards_completed) AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'a member''s stamps change only by inserting a stamp entry'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stamp_members_from_entries BEFORE UPDATE ON stamp_card_members
    FOR EACH ROW EXECUTE FUNCTION stamp_members_from_entries();

-- A reward ticket: earned when a member's card reaches one of the design's stamp counts,
-- once per card number and count; the rewards service issues it as a coupon.
CREATE TABLE stamp_tickets (
    ticket_id       UUID PRIMARY KEY,
    shop_id         UUID        NOT NULL,
    card_id         UUID        NOT NULL,
    phone           TEXT        NOT NULL,
    card_no         INT         NOT NULL,
    at_stamps       INT         NOT NULL,
    reward_id       UUID        NOT NULL,
    entry_id        BIGINT      NOT NULL REFERENCES stamp_entries ON DELETE CASCADE,
    branch_id       UUID,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    coupon_id       UUID,
    coupon_code     TEXT,
    used_at         TIMESTAMPTZ,
    used_branch_id  UUID,
    UNIQUE (card_id, phone, card_no, at_stamps),
    FOREIGN KEY (card_id, phone) REFERENCES stamp_card_members ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX stamp_tickets_by_shop_day ON stamp_tickets (shop_id, created_at);
CREATE INDEX stamp_tickets_used_by_day ON stamp_tickets (shop_id, used_at) WHERE used_at IS NOT NULL;
CREATE INDEX stamp_tickets_by_phone ON stamp_tickets (shop_id, phone, created_at DESC);

-- One-time stamp QR codes staff create for a purchase: the stamps are fixed when it is
-- made (the active card's rule), claimed once, before they expire.
CREATE TABLE stamp_qrs (
    qr_id            UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops ON DELETE CASCADE,
    card_id          UUID        NOT NULL REFERENCES stamp_cards ON DELETE CASCADE,
    branch_id        UUID        NOT NULL REFERENCES branches ON DELETE CASCADE,
    amount_satang    BIGINT      CHECK (amount_satang > 0),
    stamps           INT         NOT NULL CHECK (stamps > 0),
    created_by_type  TEXT        NOT NULL,
    created_by_id    TEXT,
    idempotency_key  TEXT        NOT NULL,
    fingerprint      TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at       TIMESTAMPTZ NOT NULL,
    claimed_at       TIMESTAMPTZ,
    claimed_phone    TEXT,
    UNIQUE (shop_id, idempotency_key),
    CHECK ((claimed_at IS NULL) = (claimed_phone IS NULL))
);

-- A branch's printed stamp QR: enabled by the admin, a number of stamps per scan, a
-- limit of scans per member per shop day.
CREATE TABLE stamp_printed_qrs (
    branch_id    UUID PRIMARY KEY REFERENCES branches ON DELETE CASCADE,
    shop_id      UUID        NOT NULL REFERENCES shops ON DELETE CASCADE,
    enabled      BOOLEAN     NOT NULL DEFAULT false,
    stamps       INT         NOT NULL DEFAULT 1 CHECK (stamps BETWEEN 1 AND 10),
    daily_limit  INT         NOT NULL DEFAULT 1 CHECK (daily_limit BETWEEN 1 AND 100),
    generation   INT         NOT NULL DEFAULT 1,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE stamp_printed_scans (
    branch_id  UUID NOT NULL REFERENCES branches ON DELETE CASCADE,
    phone      TEXT NOT NULL,
    day        DATE NOT NULL,
    scans      INT  NOT NULL CHECK (scans >= 1),
    PRIMARY KEY (branch_id, phone, day)
);

-- A member's erasure re-keys their account to a pseudonym: the stamp rows that name the
-- phone without a foreign key follow it (the others follow by ON UPDATE CASCADE).
CREATE FUNCTION stamp_rows_follow_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stamp_qrs SET claimed_phone = NEW.phone WHERE shop_id = NEW.shop_id AND claimed_phone = OLD.phone;
    UPDATE stamp_printed_scans s SET phone = NEW.phone FROM branches b
    WHERE b.branch_id = s.branch_id AND b.shop_id = NEW.shop_id AND s.phone = OLD.phone;
    RETURN NULL;
END $$;
CREATE TRIGGER stamp_rows_follow_account AFTER UPDATE OF phone ON accounts
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone) EXECUTE FUNCTION stamp_rows_follow_account();
