import uuid

import eventlet
import pytest

from chassis import errors
from chassis.relay import ConfirmingPublisher, Relay

from .conftest import OTHER_BRANCH, SHOP, sale


def test_a_sale_writes_sale_entry_balance_and_event_in_one_transaction(points, db):
    result = points.earn(sale(amount="125.50", receipt_no="R-1"))

    assert result["points"] == 5 and result["balance"] == 5 and result["replayed"] is False
    assert result["phone"] == "+66812345678" and result["amount"] == "125.50"
    assert db.execute("SELECT count(*) AS n FROM sales").fetchone()["n"] == 1
    entry = db.execute("SELECT * FROM entries").fetchone()
    assert (entry["kind"], entry["points"], entry["balance_after"], entry["rule_version"]) == ("earn", 5, 5, 1)
    assert (entry["actor_type"], entry["actor_id"], entry["source"]) == ("staff", "staff-1", "counter")
    event = db.execute("SELECT * FROM outbox WHERE routing_key = 'earned.v1'").fetchone()
    assert event["published_at"] is None and event["exchange"] == "points.events"
    envelope = event["envelope"]
    assert envelope["type"] == "points.earned" and envelope["version"] == 1
    assert envelope["shop_id"] == str(SHOP)
    assert envelope["data"]["points"] == 5 and envelope["data"]["balance"] == 5
    assert envelope["data"]["sale"]["amount_satang"] == 12550


def test_a_sale_whose_event_cannot_be_written_writes_nothing(points, db, monkeypatch):
    """The sale, the new account, the entry, the lot and the outbox row are one statement:
    the event's insert failing (here: an event id already in the outbox) leaves none of them."""
    from chassis import outbox

    points.earn(sale(amount="50", receipt_no="R-first", phone="0899999999"))
    taken = db.execute("SELECT event_id FROM outbox").fetchone()["event_id"]
    real_row = outbox.row

    def clashing(*args, **kwargs):
        params, body = real_row(*args, **kwargs)
        return {**params, "event_id": taken}, body

    monkeypatch.setattr(outbox, "row", clashing)
    from nameko.exceptions import RemoteError

    with pytest.raises(RemoteError):
        points.earn(sale(amount="125.50", receipt_no="R-1"))
    assert db.execute("SELECT count(*) AS n FROM sales").fetchone()["n"] == 1
    for table in ("entries", "lots", "accounts"):
        assert db.execute(f"SELECT count(*) AS n FROM {table} WHERE phone = '+66812345678'").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM outbox WHERE routing_key = 'earned.v1'").fetchone()["n"] == 1


def test_a_sale_refused_for_its_receipt_opens_no_account(points, db):
    points.earn(sale(amount="50", receipt_no="R-7", phone="0899999999"))
    with pytest.raises(errors.Conflict):
        points.earn(sale(amount="60", receipt_no="R-7"))
    assert db.execute("SELECT count(*) AS n FROM accounts WHERE phone = '+66812345678'").fetchone()["n"] == 0


def test_the_relay_publishes_points_earned_and_marks_it_sent(points, db, dsn, config):
    from kombu import Connection, Exchange, Queue

    with Connection(config["AMQP_URI"]) as conn:
        queue = conn.SimpleQueue(Queue("watch-earned", Exchange("points.events", type="topic"), "earned.v1"))
        points.earn(sale(amount="50"))
        relay = Relay(dsn, ConfirmingPublisher(config["AMQP_URI"], config))
        relay.drain_once()
        message = queue.get(timeout=5)
        message.ack()
        queue.close()
    assert message.payload["type"] == "points.earned" and message.payload["data"]["points"] == 2
    assert db.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"] == 0


def test_a_replay_with_the_same_key_returns_the_first_result_and_earns_once(points, db):
    body = sale(receipt_no="R-9")
    first = points.earn(body)
    again = points.earn(body)
    assert again["replayed"] is True
    assert {k: v for k, v in again.items() if k != "replayed"} == {k: v for k, v in first.items() if k != "replayed"}
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 1


def test_the_same_key_with_another_body_is_a_conflict(points):
    body = sale()
    points.earn(body)
    with pytest.raises(errors.Conflict) as caught:
        points.earn({**body, "amount": "999"})
    assert caught.value.code == "idempotency_key_reused"


def test_the_same_receipt_at_the_same_branch_never_earns_twice(points, db):
    points.earn(sale(receipt_no="R-100"))
    with pytest.raises(errors.Conflict) as caught:
        points.earn(sale(receipt_no="R-100"))
    assert caught.value.code == "duplicate_receipt" and "receipt_no" in caught.value.fields
    assert points.earn(sale(receipt_no="R-100", branch_id=str(OTHER_BRANCH)))["points"] == 5
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 2


def test_phone_numbers_written_differently_share_one_account(points):
    points.earn(sale(phone="081-234-5678", amount="25"))
    points.earn(sale(phone="0812345678", amount="25"))
    assert points.earn(sale(phone="+66812345678", amount="25"))["balance"] == 3
    assert points.balance({"shop_id": str(SHOP), "phone": "081 234 5678"})["balance"] == 3


def test_a_spend_below_one_unit_is_recorded_with_zero_points(points, db):
    result = points.earn(sale(amount="24.99"))
    assert result["points"] == 0 and result["entry_id"] is None and result["balance"] == 0
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 0
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'earned.v1'").fetchone()["envelope"]
    assert event["data"]["points"] == 0 and event["data"]["sale"]["amount_satang"] == 2499


def test_a_rule_change_applies_to_later_sales_and_entries_record_the_version(points, db):
    points.earn(sale(amount="100"))
    changed = points.set_earn_rule({"shop_id": str(SHOP), "points": 2, "per_baht": "10"})
    assert changed["version"] == 2 and changed["changed"] is True
    assert points.set_earn_rule({"shop_id": str(SHOP), "points": 2, "per_baht": "10.00"})["changed"] is False
    assert points.earn(sale(amount="100"))["points"] == 20
    versions = [r["rule_version"] for r in db.execute("SELECT rule_version FROM entries ORDER BY entry_id")]
    assert versions == [1, 2]


@pytest.mark.parametrize("field,value", [
    ("phone", "12345"), ("phone", ""), ("amount", "-10"), ("amount", "0"), ("amount", "1.001"),
    ("amount", "10000000.01"), ("amount", "lots"), ("branch_id", "not-a-uuid"), ("receipt_no", ""),
])
def test_bad_input_names_the_field_and_writes_nothing(points, db, field, value):
    with pytest.raises(errors.InvalidInput) as caught:
        points.earn(sale(**{field: value}))
    assert field in caught.value.fields
    assert db.execute("SELECT count(*) AS n FROM sales").fetchone()["n"] == 0


def test_unknown_fields_are_refused(points):
    with pytest.raises(errors.InvalidInput) as caught:
        points.earn(sale(bonus=1000))
    assert caught.value.fields == {"bonus": ["Unknown field."]}


def test_an_unknown_branch_is_not_found(points, db):
    with pytest.raises(errors.NotFound) as caught:
        points.earn(sale(branch_id=str(uuid.uuid4())))
    assert caught.value.code == "branch_not_found"
    assert db.execute("SELECT count(*) AS n FROM sales").fetchone()["n"] == 0


def test_an_unknown_shop_is_not_found(points):
    with pytest.raises(errors.NotFound) as caught:
        points.earn(sale(shop_id=str(uuid.uuid4())))
    assert caught.value.code == "shop_not_found"


def test_a_branch_created_after_the_shop_is_fetched_from_members_on_first_use(points, members, db):
    new_branch = str(uuid.uuid4())
    members.branches[new_branch] = {"branch_id": new_branch, "shop_id": str(SHOP)}
    assert points.earn(sale(branch_id=new_branch))["points"] == 5
    assert db.execute("SELECT count(*) AS n FROM branches WHERE branch_id = %s", (new_branch,)).fetchone()["n"] == 1


def test_concurrent_sales_for_one_phone_all_count(points, config):
    from nameko.standalone.rpc import ServiceRpcProxy

    def earn(_):
        with ServiceRpcProxy("points", config, timeout=20) as proxy:
            return proxy.earn(sale(amount="25"))

    results = list(eventlet.GreenPool(20).imap(earn, range(20)))
    assert sorted(r["balance"] for r in results) == list(range(1, 21))
    assert points.balance({"shop_id": str(SHOP), "phone": "0812345678"})["balance"] == 20


def test_concurrent_requests_with_one_key_make_one_sale_and_get_one_answer(points, config, db):
    from nameko.standalone.rpc import ServiceRpcProxy

    body = sale(receipt_no="R-race")

    def earn(_):
        with ServiceRpcProxy("points", config, timeout=20) as proxy:
            return proxy.earn(body)

    results = list(eventlet.GreenPool(10).imap(earn, range(10)))
    assert len({r["sale_id"] for r in results}) == 1
    assert sorted(r["replayed"] for r in results) == [False] + [True] * 9
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 1


def test_a_replayed_zero_point_sale_answers_the_balance_it_had(points):
    points.earn(sale(amount="100"))  # balance 4
    body = sale(amount="10")  # earns nothing
    first = points.earn(body)
    points.earn(sale(amount="100"))  # balance 8
    again = points.earn(body)
    assert first["balance"] == again["balance"] == 4 and again["replayed"] is True
