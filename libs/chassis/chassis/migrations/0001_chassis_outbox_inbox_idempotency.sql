-- Tables every service database has: the outbox the relay drains, the inbox of
-- processed event ids, and the idempotency keys of value-creating calls.
-- depends:

CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    event_id      UUID        NOT NULL UNIQUE,
    exchange      TEXT        NOT NULL,
    routing_key   TEXT        NOT NULL,
    envelope      JSONB       NOT NULL,
    headers       JSONB       NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at  TIMESTAMPTZ,
    unroutable    BOOLEAN     NOT NULL DEFAULT false
);
-- The relay only ever looks at unpublished rows: keep that index tiny.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- One row per (handler, event): two handlers of one event in a service each
-- apply it once.
CREATE TABLE inbox (
    handler      TEXT        NOT NULL,
    event_id     UUID        NOT NULL,
    event_type   TEXT        NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, event_id)
);
CREATE INDEX inbox_received ON inbox (received_at);

CREATE TABLE idempotency_keys (
    scope        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    fingerprint  TEXT        NOT NULL,
    response     JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
