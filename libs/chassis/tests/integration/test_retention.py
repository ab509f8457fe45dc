import datetime
import uuid

from chassis import housekeeping, idempotency, inbox, outbox
from chassis.relay import ConfirmingPublisher, Relay

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)


def test_housekeeping_forgets_keys_and_event_ids_past_retention_as_of_a_given_time(store):
    with store.transaction() as conn:
        idempotency.run_once(conn, "s", "old-key", "fp", lambda: {"ok": 1})
        idempotency.run_once(conn, "s", "new-key", "fp", lambda: {"ok": 2})
        conn.execute("UPDATE idempotency_keys SET created_at = %s WHERE key = 'old-key'",
                     (NOW - datetime.timedelta(days=8),))
        conn.execute("UPDATE idempotency_keys SET created_at = %s WHERE key = 'new-key'",
                     (NOW - datetime.timedelta(days=6),))
        for age_days in (31, 29):
            event_id = str(uuid.uuid4())
            inbox.first_time(conn, "h", {"event_id": event_id, "type": "t"})
            conn.execute("UPDATE inbox SET received_at = %s WHERE event_id = %s",
                         (NOW - datetime.timedelta(days=age_days), event_id))
    with store.transaction() as conn:
        assert housekeeping.run(conn, NOW) == {"idempotency_keys": 1, "inbox": 1}
    with store.transaction() as conn:
        assert housekeeping.run(conn, NOW) == {"idempotency_keys": 0, "inbox": 0}
        assert [r["key"] for r in conn.execute("SELECT key FROM idempotency_keys")] == ["new-key"]


def test_the_relay_purges_published_events_past_retention_and_never_unpublished_ones(store, dsn, amqp_uri):
    with store.transaction() as conn:
        for i in range(3):
            outbox.add(conn, "shop.opened", 1, "s", {"i": i})
    relay = Relay(dsn, ConfirmingPublisher(amqp_uri, {"AMQP_URI": amqp_uri}), batch_size=2, retention_hours=72)
    relay.drain_once()  # publishes two of the three
    with store.transaction() as conn:
        conn.execute("UPDATE outbox SET created_at = now() - interval '10 days', "
                     "published_at = CASE WHEN published_at IS NULL THEN NULL ELSE now() - interval '4 days' END")
    assert relay.purge() == 2
    with store.connection() as conn:
        left = conn.execute("SELECT published_at FROM outbox").fetchall()
    assert len(left) == 1 and left[0]["published_at"] is None
