from chassis import outbox
from chassis.relay import ConfirmingPublisher, Relay


def relay_for(dsn, amqp_uri, batch_size=500):
    return Relay(dsn, ConfirmingPublisher(amqp_uri, {"AMQP_URI": amqp_uri}), batch_size=batch_size)


def unpublished(store):
    with store.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]


def test_change_and_event_commit_together_and_relay_publishes_then_marks(store, dsn, amqp_uri, bound_queue):
    queue = bound_queue("shop.events", "opened.v1")
    with store.transaction() as conn:
        conn.execute("CREATE TABLE shops (id int)")
        conn.execute("INSERT INTO shops VALUES (1)")
        sent = outbox.add(conn, "shop.opened", 1, "s-1", {"id": 1}, headers={"nameko.request_id": "r-1"})
    assert unpublished(store) == 1

    relay = relay_for(dsn, amqp_uri)
    assert relay.drain_once() == 1

    message = queue.get(timeout=5)
    message.ack()
    assert message.payload == sent
    assert message.headers["nameko.request_id"] == "r-1"
    assert message.properties["message_id"] == sent["event_id"]
    assert message.properties["delivery_mode"] == 2
    assert unpublished(store) == 0
    assert relay.drain_once() == 0


def test_rolled_back_change_publishes_nothing(store, dsn, amqp_uri, bound_queue):
    queue = bound_queue("shop.events", "opened.v1")
    try:
        with store.transaction() as conn:
            outbox.add(conn, "shop.opened", 1, "s-1", {"id": 2})
            raise RuntimeError("the change failed after the event was written")
    except RuntimeError:
        pass
    assert relay_for(dsn, amqp_uri).drain_once() == 0
    assert queue.qsize() == 0


def test_events_wait_in_the_outbox_while_the_broker_is_unreachable(store, dsn, amqp_uri, bound_queue):
    queue = bound_queue("shop.events", "opened.v1")
    with store.transaction() as conn:
        for i in range(3):
            outbox.add(conn, "shop.opened", 1, "s-1", {"id": i})
    broken = relay_for(dsn, "amqp://guest:guest@127.0.0.1:1/")
    try:
        broken.drain_once()
    except Exception:  # noqa: BLE001 - any connection error will do
        pass
    else:
        raise AssertionError("publishing to a closed port succeeded")
    assert unpublished(store) == 3

    assert relay_for(dsn, amqp_uri).drain_once() == 3
    got = sorted(queue.get(timeout=5).payload["data"]["id"] for _ in range(3))
    assert got == [0, 1, 2]
    assert unpublished(store) == 0


def test_relay_publishes_in_batches_in_commit_order(store, dsn, amqp_uri, bound_queue):
    queue = bound_queue("shop.events", "opened.v1")
    with store.transaction() as conn:
        for i in range(25):
            outbox.add(conn, "shop.opened", 1, "s-1", {"id": i})
    relay = relay_for(dsn, amqp_uri, batch_size=10)
    assert [relay.drain_once() for _ in range(4)] == [10, 10, 5, 0]
    assert [queue.get(timeout=5).payload["data"]["id"] for _ in range(25)] == list(range(25))


def test_event_no_queue_is_bound_to_is_marked_unroutable_not_lost(store, dsn, amqp_uri):
    with store.transaction() as conn:
        outbox.add(conn, "shop.closed", 1, "s-1", {"id": 1})
    assert relay_for(dsn, amqp_uri).drain_once() == 1
    with store.connection() as conn:
        row = conn.execute("SELECT published_at, unroutable FROM outbox").fetchone()
    assert row["published_at"] is not None and row["unroutable"] is True


def test_an_idle_relay_keeps_its_connection_alive_through_heartbeats(store, dsn, amqp_uri, bound_queue):
    import time

    queue = bound_queue("shop.events", "opened.v1")
    publisher = ConfirmingPublisher(amqp_uri, {"AMQP_URI": amqp_uri}, heartbeat=1)
    relay = Relay(dsn, publisher)
    with store.transaction() as conn:
        outbox.add(conn, "shop.opened", 1, "s-1", {"id": 1})
    relay.drain_once()
    connection = publisher.connection
    deadline = time.monotonic() + 4  # four heartbeat intervals: the broker closes after two missed
    while time.monotonic() < deadline:
        relay.drain_once()
        publisher.keep_alive()
        time.sleep(0.05)
    with store.transaction() as conn:
        outbox.add(conn, "shop.opened", 1, "s-1", {"id": 2})
    assert relay.drain_once() == 1
    assert publisher.connection is connection  # the same connection, never dropped
    assert [queue.get(timeout=5).payload["data"]["id"] for _ in range(2)] == [1, 2]


def test_many_events_written_at_once_are_published_like_any_other(store, dsn, amqp_uri, bound_queue):
    queue = bound_queue("shop.events", "counted.v1")
    with store.transaction() as conn:
        assert outbox.add_many(conn, "shop.counted", 1, ((f"s-{i}", {"i": i}) for i in range(1200))) == 1200
    relay = relay_for(dsn, amqp_uri)
    while relay.drain_once():
        pass
    received = [queue.get(timeout=5).payload for _ in range(1200)]
    assert sorted(m["data"]["i"] for m in received) == list(range(1200))
    assert len({m["event_id"] for m in received}) == 1200 and received[0]["type"] == "shop.counted"
    assert unpublished(store) == 0
