-- Member sign-in: the shop's LINE Login channel, one-time codes sent by SMS, and
-- the member tokens the gateway authenticates.
-- depends: 0003_tiers

-- The shop's LINE Login / LIFF channel: its id is the audience of the ID tokens
-- members bring; its secret verifies the HS256 ones (web login). Secret: stored,
-- never returned, never logged.
CREATE TABLE line_login_channels (
    shop_id         UUID PRIMARY KEY REFERENCES shops,
    channel_id      TEXT        NOT NULL CHECK (channel_id ~ '^[0-9]{1,20}$'),
    channel_secret  TEXT        NOT NULL CHECK (length(channel_secret) BETWEEN 1 AND 200),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A one-time code sent by SMS: only its HMAC is kept. live -> used (verified once)
-- | dead (too many wrong tries, or the SMS could not be sent). Expired is a time,
-- not a state. Rows are kept for the rate limits (per phone, per IP, per hour)
-- and purged after a day.
CREATE TABLE otp_challenges (
    challenge_id  UUID PRIMARY KEY,
    shop_id       UUID        NOT NULL REFERENCES shops,
    phone         TEXT        NOT NULL,
    code_hash     BYTEA       NOT NULL,
    client_ip     TEXT,
    status        TEXT        NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'used', 'dead')),
    attempts      INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX otp_challenges_phone ON otp_challenges (shop_id, phone, created_at);
CREATE INDEX otp_challenges_ip ON otp_challenges (client_ip, created_at) WHERE client_ip IS NOT NULL;
CREATE INDEX otp_challenges_age ON otp_challenges (created_at);

-- A member token (opaque, 'mt_...'): only its SHA-256 is kept. It stands for one
-- member of one shop until it expires or is revoked (sign out).
CREATE TABLE member_tokens (
    token_id    UUID PRIMARY KEY,
    token_hash  BYTEA       NOT NULL UNIQUE,
    shop_id     UUID        NOT NULL REFERENCES shops,
    member_id   UUID        NOT NULL REFERENCES members ON DELETE CASCADE,
    method      TEXT        NOT NULL CHECK (method IN ('otp', 'line')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX member_tokens_member ON member_tokens (member_id);
CREATE INDEX member_tokens_expiry ON member_tokens (expires_at);

-- LINE Login nonces this service issued (10 minutes, each accepted once), and every LINE
-- ID token that signed someone in (kept until it expires): a token captured elsewhere on
-- the same channel cannot sign in a second time, nor can one made for another sign-in.
CREATE TABLE line_nonces (
    nonce       TEXT PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    client_ip   TEXT,                     -- nonces are rate-limited per address (an open route)
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX line_nonces_expiry ON line_nonces (expires_at);
CREATE INDEX line_nonces_ip ON line_nonces (client_ip, created_at) WHERE client_ip IS NOT NULL;

CREATE TABLE line_tokens_used (
    token_hash  BYTEA PRIMARY KEY,
    shop_id     UUID        NOT NULL REFERENCES shops,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX line_tokens_used_expiry ON line_tokens_used (expires_at);
