import uuid

import eventlet
import pytest

from chassis import errors, idempotency, inbox


def test_concurrent_calls_with_one_key_run_once_and_all_get_the_first_result(store):
    runs = []

    def call(i):
        with store.transaction() as conn:
            def produce():
                runs.append(i)
                eventlet.sleep(0.05)  # widen the race window
                return {"sale": i}
            return idempotency.run_once(conn, "earn:shop-1", "key-1", "fp", produce)

    pool = eventlet.GreenPool(20)
    results = list(pool.imap(call, range(20)))
    assert len(runs) == 1
    assert {r[0]["sale"] for r in results} == {runs[0]}
    assert sorted(r[1] for r in results) == [False] + [True] * 19


def test_same_key_with_another_request_is_a_conflict(store):
    with store.transaction() as conn:
        idempotency.run_once(conn, "earn:shop-1", "key-2", "fp-a", lambda: {"ok": 1})
    with pytest.raises(errors.Conflict) as caught:
        with store.transaction() as conn:
            idempotency.run_once(conn, "earn:shop-1", "key-2", "fp-b", lambda: {"ok": 2})
    assert caught.value.code == "idempotency_key_reused"


def test_a_failed_first_call_leaves_the_key_free(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            idempotency.run_once(conn, "earn:shop-1", "key-3", "fp", lambda: (_ for _ in ()).throw(RuntimeError()))
    with store.transaction() as conn:
        assert idempotency.run_once(conn, "earn:shop-1", "key-3", "fp", lambda: {"ok": 1}) == ({"ok": 1}, False)


def test_keys_are_scoped(store):
    with store.transaction() as conn:
        idempotency.run_once(conn, "earn:shop-1", "k", "fp-a", lambda: {"shop": 1})
        assert idempotency.run_once(conn, "earn:shop-2", "k", "fp-b", lambda: {"shop": 2}) == ({"shop": 2}, False)


def test_inbox_applies_an_event_once_per_handler(store):
    event = {"event_id": str(uuid.uuid4()), "type": "points.earned"}
    with store.transaction() as conn:
        assert inbox.first_time(conn, "members.on_earned", event) is True
        assert inbox.first_time(conn, "members.on_earned", event) is False
        assert inbox.first_time(conn, "members.other_handler", event) is True


def test_concurrent_deliveries_of_one_event_apply_once(store):
    event = {"event_id": str(uuid.uuid4()), "type": "points.earned"}

    def deliver(_):
        with store.transaction() as conn:
            first = inbox.first_time(conn, "h", event)
            eventlet.sleep(0.02)
            return first

    results = list(eventlet.GreenPool(10).imap(deliver, range(10)))
    assert results.count(True) == 1


def test_a_batch_claims_only_events_not_seen_before_and_each_once(store):
    seen, new, dup = (str(uuid.uuid4()) for _ in range(3))
    with store.transaction() as conn:
        inbox.first_time(conn, "h", {"event_id": seen, "type": "t"})
        events = [{"event_id": uuid.UUID(i), "type": "t"} for i in (seen, new, dup, dup)]
        fresh = inbox.first_time_many(conn, "h", events)
    assert [str(e["event_id"]) for e in fresh] == [new, dup]
