-- A redemption the rewards service gave up on before its spend arrived: the
-- key is cancelled, so a spend with it that arrives late (a retried or slow
-- RPC) is refused instead of taking points for a coupon that will never exist.
-- depends: 0002_lots_and_channels

CREATE TABLE spend_cancellations (
    shop_id      UUID        NOT NULL,
    spend_key    TEXT        NOT NULL,
    reason       TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, spend_key)
);
