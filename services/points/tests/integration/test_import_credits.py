"""credit_many: a member import's points, set-based, once per row key."""
import uuid

import eventlet
import pytest

from chassis import errors

from .conftest import BRANCH, SHOP, balance_of, check_ledger, credit_request


def batch(credits, **extra):
    return {"shop_id": str(SHOP), "branch_id": str(BRANCH), "source": "import", "reason": "import members.csv",
            "actor": {"type": "admin", "id": "admin-1"}, "credits": credits, **extra}


def rows(file_hash, count, points=10, first_phone=812000000):
    return [{"key": f"import:{file_hash}:{n + 2}", "phone": f"0{first_phone + n}", "points": points}
            for n in range(count)]


def test_a_batch_credits_each_row_with_an_entry_a_lot_and_an_event(points, db):
    result = points.credit_many(batch(rows("a" * 64, 3, points=25)))

    assert (result["credited"], result["replayed"], result["points"]) == (3, 0, 75)
    assert [r["phone"] for r in result["results"]] == ["+66812000000", "+66812000001", "+66812000002"]
    assert all(r["balance"] == 25 and r["replayed"] is False for r in result["results"])
    entries = db.execute("SELECT kind, source, points, branch_id, ref, actor_type FROM entries "
                         "ORDER BY entry_id").fetchall()
    assert [(e["kind"], e["source"], e["points"], e["ref"]) for e in entries] == [
        ("adjust", "import", 25, f"import:{'a' * 64}:{n}") for n in (2, 3, 4)]
    assert {e["branch_id"] for e in entries} == {BRANCH} and {e["actor_type"] for e in entries} == {"admin"}
    events = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'adjusted.v1' ORDER BY id").fetchall()
    assert [e["envelope"]["data"]["points"] for e in events] == [25, 25, 25]
    assert events[0]["envelope"]["data"]["source"] == "import" and events[0]["envelope"]["data"]["balance_seq"] == 1
    check_ledger(db)


def test_the_same_batch_again_credits_nothing_and_answers_the_first_results(points, db):
    first = points.credit_many(batch(rows("b" * 64, 4)))
    again = points.credit_many(batch(rows("b" * 64, 4)))

    assert (again["credited"], again["replayed"], again["points"]) == (0, 4, 0)
    assert [r["entry_id"] for r in again["results"]] == [r["entry_id"] for r in first["results"]]
    assert all(r["replayed"] for r in again["results"])
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 4
    assert db.execute("SELECT count(*) AS n FROM outbox WHERE routing_key = 'adjusted.v1'").fetchone()["n"] == 4


def test_a_partly_sent_batch_credits_only_the_rows_not_sent_before(points, db):
    everything = rows("c" * 64, 5)
    points.credit_many(batch(everything[:2]))
    result = points.credit_many(batch(everything))

    assert (result["credited"], result["replayed"]) == (3, 2)
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 5
    check_ledger(db)


def test_a_row_key_is_the_same_key_as_a_single_credit(points, db):
    single = credit_request(40, phone="0812000000", source="import")
    single["idempotency_key"] = f"import:{'d' * 64}:2"
    points.credit(single)
    with pytest.raises(errors.Conflict) as caught:
        points.credit_many(batch(rows("d" * 64, 1, points=10)))
    assert caught.value.code == "idempotency_key_reused"
    assert balance_of(points, "0812000000") == 40


def test_two_rows_of_one_phone_both_count_and_balances_follow_each_other(points, db):
    credits = [{"key": "k-1", "phone": "0812345678", "points": 10},
               {"key": "k-2", "phone": "+66812345678", "points": 5}]
    result = points.credit_many(batch(credits))

    assert [r["balance"] for r in result["results"]] == [10, 15]
    assert balance_of(points) == 15
    check_ledger(db)


def test_bad_rows_are_refused_naming_the_credit_and_nothing_is_written(points, db):
    credits = [{"key": "ok", "phone": "0812345678", "points": 10},
               {"key": "bad", "phone": "12", "points": 0}]
    with pytest.raises(errors.InvalidInput) as caught:
        points.credit_many(batch(credits))
    assert {"credits.1.phone", "credits.1.points"} <= set(caught.value.fields)
    with pytest.raises(errors.InvalidInput) as caught:
        points.credit_many(batch([{"key": "same", "phone": "0812345678", "points": 1}] * 2))
    assert "credits" in caught.value.fields
    with pytest.raises(errors.InvalidInput):
        points.credit_many(batch([]))
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 0


def test_an_unknown_branch_is_not_found(points):
    with pytest.raises(errors.NotFound) as caught:
        points.credit_many(batch(rows("e" * 64, 1), branch_id=str(uuid.uuid4())))
    assert caught.value.code == "branch_not_found"


def test_concurrent_batches_with_the_same_keys_credit_once(points, db, config):
    from nameko.standalone.rpc import ServiceRpcProxy

    credits = rows("f" * 64, 50)

    def send():
        with ServiceRpcProxy("points", config, timeout=20) as proxy:
            return proxy.credit_many(batch(credits))

    results = [thread.wait() for thread in [eventlet.spawn(send) for _ in range(4)]]
    assert sum(r["credited"] for r in results) == 50
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 50
    check_ledger(db)
