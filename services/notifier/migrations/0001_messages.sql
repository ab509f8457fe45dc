-- The notifier: each shop's channels (LINE token, SMS provider, quiet hours),
-- what it knows of each member's contact (LINE user id, blocked, opt-outs),
-- shop templates, and every message: the delivery log and the send queue in one
-- table (one row per (triggering event, member, trigger): a duplicate event
-- never sends twice).

CREATE TABLE shop_channels (
    shop_id          UUID PRIMARY KEY,
    line_token       TEXT,                       -- secret: never returned, never logged
    sms_enabled      BOOLEAN     NOT NULL DEFAULT false,
    sms_provider     TEXT        CHECK (sms_provider IN ('thaibulksms', 'webhook')),
    sms_sender       TEXT,
    sms_credentials  JSONB,                      -- secret: {api_key, api_secret} or {url, token}
    timezone         TEXT        NOT NULL DEFAULT 'Asia/Bangkok',
    language         TEXT        NOT NULL DEFAULT 'th' CHECK (language IN ('th', 'en')),
    quiet_start      TIME        NOT NULL DEFAULT '21:00',
    quiet_end        TIME        NOT NULL DEFAULT '08:00',
    shop_name        TEXT        NOT NULL DEFAULT '',
    member_page_url  TEXT,                       -- the shop's member page (e.g. its LIFF URL): {link}
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    shop_id                UUID        NOT NULL,
    phone                  TEXT        NOT NULL,
    name                   TEXT,
    language               TEXT        CHECK (language IN ('th', 'en')),
    line_user_id           TEXT,
    tier                   TEXT,                 -- from members.tier_changed
    line_blocked           BOOLEAN     NOT NULL DEFAULT false,
    opt_out_marketing      BOOLEAN     NOT NULL DEFAULT false,
    opt_out_transactional  BOOLEAN     NOT NULL DEFAULT false,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, phone)
);

CREATE TABLE templates (
    shop_id     UUID        NOT NULL,
    trigger     TEXT        NOT NULL,
    language    TEXT        NOT NULL CHECK (language IN ('th', 'en')),
    body        TEXT        NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, trigger, language)
);

-- queued -> sent (-> delivered, when the provider reports it) | failed, or skipped at once (no
-- channel, opted out: the reason kept).
CREATE TABLE messages (
    message_id       UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL,
    phone            TEXT        NOT NULL,
    trigger          TEXT        NOT NULL,
    kind             TEXT        NOT NULL CHECK (kind IN ('transactional', 'marketing')),
    dedupe_key       TEXT        NOT NULL,
    campaign_id      TEXT,
    channel          TEXT        NOT NULL CHECK (channel IN ('line', 'sms', 'none')),
    recipient        TEXT,                       -- the LINE user id or the phone
    body             TEXT        NOT NULL,
    flex             JSONB,                      -- a LINE Flex bubble (coupons); `body` is its alt text
    status           TEXT        NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'skipped')),
    reason           TEXT,                       -- why skipped or failed
    attempts         INT         NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    provider_id      TEXT,
    sms_parts        INT,
    batch_id         UUID,                       -- a campaign's LINE messages go out 500 per multicast
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    UNIQUE (shop_id, dedupe_key)
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued' AND batch_id IS NULL;
CREATE INDEX messages_of_batch ON messages (batch_id) WHERE batch_id IS NOT NULL;

-- One LINE multicast of a campaign (up to 500 members, one text): the unit the sender
-- claims, sends with the batch id as LINE's retry key, and settles with its messages.
CREATE TABLE line_batches (
    batch_id         UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL,
    campaign_id      TEXT        NOT NULL,
    body             TEXT        NOT NULL,
    recipients       TEXT[]      NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    reason           TEXT,
    attempts         INT         NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX line_batches_due ON line_batches (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_of_member ON messages (shop_id, phone, created_at DESC);
CREATE INDEX messages_of_campaign ON messages (shop_id, campaign_id) WHERE campaign_id IS NOT NULL;
