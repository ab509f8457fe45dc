-- The floor bench's one table: an idempotent write per request.
CREATE TABLE writes (
    write_id        BIGSERIAL   PRIMARY KEY,
    shop_id         UUID        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    phone           TEXT        NOT NULL,
    amount          BIGINT      NOT NULL CHECK (amount >= 0),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (shop_id, idempotency_key)
);
