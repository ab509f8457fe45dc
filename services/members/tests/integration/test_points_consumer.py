import time
import uuid

import pytest
from kombu import Connection, Exchange
from nameko.amqp.publish import get_producer

from chassis import errors, outbox


def publish(config, envelope):
    """Publish as the points relay does: points.events, routing key earned.v1."""
    exchange = Exchange("points.events", type="topic", durable=True)
    with Connection(config["AMQP_URI"]) as conn:
        exchange(conn.channel()).declare()
    with get_producer(config["AMQP_URI"]) as producer:
        producer.publish(envelope, exchange=exchange, routing_key="earned.v1", serializer="json")


def earned(shop_id, phone="0812345678", points=5, balance=5, seq=1, amount=12550):
    return outbox.envelope("points.earned", 1, shop_id, {
        "entry_id": seq, "phone": phone, "points": points, "balance": balance, "balance_seq": seq,
        "branch_id": str(uuid.uuid4()), "rule_version": 1, "source": "counter",
        "actor": {"type": "staff", "id": "s"},
        "sale": {"sale_id": str(uuid.uuid4()), "amount_satang": amount, "receipt_no": None},
    })


def member(members, shop_id, phone="081-234-5678", timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return members.get_member_by_phone({"shop_id": shop_id, "phone": phone})
        except errors.NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_new_phone_becomes_a_phone_only_member_with_its_totals(members, shop, config, db):
    shop_id = shop["shop"]["shop_id"]
    publish(config, earned(shop_id, points=5, balance=5, seq=1, amount=12550))
    found = member(members, shop_id)
    assert (found["status"], found["phone"], found["lifetime_points"], found["points_balance"]) == (
        "phone_only", "+66812345678", 5, 5)
    assert found["sales_count"] == 1 and found["spend"] == "125.50"
    created = db.execute("SELECT count(*) AS n FROM outbox WHERE routing_key = 'member_created.v1'").fetchone()
    assert created["n"] == 1


def test_the_same_event_delivered_twice_changes_totals_once(members, shop, config, db):
    shop_id = shop["shop"]["shop_id"]
    event = earned(shop_id, points=7, balance=7, seq=1)
    publish(config, event)
    publish(config, event)
    publish(config, earned(shop_id, points=3, balance=10, seq=2))
    deadline = time.monotonic() + 10
    while member(members, shop_id)["sales_count"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let a wrongly applied duplicate show
    found = member(members, shop_id)
    assert (found["lifetime_points"], found["points_balance"], found["sales_count"]) == (10, 10, 2)
    assert db.execute("SELECT count(*) AS n FROM inbox").fetchone()["n"] == 2


def test_an_older_balance_arriving_late_does_not_overwrite_a_newer_one(members, shop, config):
    shop_id = shop["shop"]["shop_id"]
    publish(config, earned(shop_id, points=3, balance=10, seq=2))
    member(members, shop_id)
    publish(config, earned(shop_id, points=7, balance=7, seq=1))
    deadline = time.monotonic() + 10
    while member(members, shop_id)["sales_count"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    found = member(members, shop_id)
    assert (found["points_balance"], found["lifetime_points"]) == (10, 10)


@pytest.mark.parametrize("phone", ["0812345678", "+66812345678", "081-234-5678"])
def test_a_member_is_found_by_any_form_of_the_phone(members, shop, config, phone):
    shop_id = shop["shop"]["shop_id"]
    publish(config, earned(shop_id, phone="+66812345678"))
    assert member(members, shop_id, phone=phone)["phone"] == "+66812345678"


def test_a_malformed_event_goes_to_the_dead_letter_queue(members, shop, config):
    from chassis import dlq

    bad = earned(shop["shop"]["shop_id"], phone="not a phone")
    publish(config, bad)
    queue = "evt-points-earned.v1--members.on_points_earned.dlq"
    deadline = time.monotonic() + 10
    while dlq.count(config["AMQP_URI"], queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dlq.count(config["AMQP_URI"], queue) == 1


def test_many_events_for_one_phone_arriving_together_add_up_exactly(members, shop, config):
    shop_id = shop["shop"]["shop_id"]
    for seq in range(1, 31):
        publish(config, earned(shop_id, points=2, balance=2 * seq, seq=seq, amount=5000))
    deadline = time.monotonic() + 15
    while member(members, shop_id)["sales_count"] < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    found = member(members, shop_id)
    assert (found["sales_count"], found["lifetime_points"], found["points_balance"], found["spend"]) == (
        30, 60, 60, "1500.00")


def publish_as(config, routing_key, envelope):
    exchange = Exchange("points.events", type="topic", durable=True)
    with get_producer(config["AMQP_URI"]) as producer:
        producer.publish(envelope, exchange=exchange, routing_key=routing_key, serializer="json")


def test_later_balances_from_spends_and_expiry_reach_the_member(members, shop, config):
    shop_id = shop["shop"]["shop_id"]
    publish(config, earned(shop_id, points=10, balance=10, seq=1))
    member(members, shop_id)
    publish_as(config, "redeemed.v1", outbox.envelope("points.redeemed", 1, shop_id, {
        "entry_id": 2, "phone": "+66812345678", "points": -4, "balance": 6, "balance_seq": 2}))
    publish_as(config, "expired.v1", outbox.envelope("points.expired", 1, shop_id, {
        "entry_id": 3, "phone": "+66812345678", "points": -6, "balance": 0, "balance_seq": 3, "lots": 1}))
    deadline = time.monotonic() + 10
    while member(members, shop_id)["points_balance"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    found = member(members, shop_id)
    assert (found["points_balance"], found["lifetime_points"], found["sales_count"]) == (0, 10, 1)


def test_an_order_counts_as_a_purchase(members, shop, config):
    shop_id = shop["shop"]["shop_id"]
    envelope = earned(shop_id, points=40, balance=40, seq=1)
    envelope["data"].update(sale=None, order={"order_id": "ORD-9", "amount_satang": 100000}, source="order")
    publish(config, envelope)
    found = member(members, shop_id)
    assert (found["sales_count"], found["spend"], found["lifetime_points"]) == (1, "1000.00", 40)


def test_credits_by_adjustment_count_as_points_received_and_debits_do_not(members, shop, config):
    from chassis.testing import wait_for

    shop_id = shop["shop"]["shop_id"]
    publish_as(config, "adjusted.v1", outbox.envelope("points.adjusted", 1, shop_id, {
        "entry_id": 1, "phone": "+66812345678", "points": 30, "balance": 30, "balance_seq": 1,
        "kind": "adjust", "source": "import"}))
    publish_as(config, "adjusted.v1", outbox.envelope("points.adjusted", 1, shop_id, {
        "entry_id": 2, "phone": "+66812345678", "points": -10, "balance": 20, "balance_seq": 2,
        "kind": "adjust", "source": "admin"}))
    found = wait_for(lambda: (m := member(members, shop_id))["points_balance"] == 20 and m)
    assert (found["points_balance"], found["lifetime_points"], found["sales_count"]) == (20, 30, 0)


def test_a_stamp_only_customer_becomes_a_phone_only_member_without_touching_points(members, shop, config):
    from chassis.testing import wait_for

    shop_id = shop["shop"]["shop_id"]
    exchange = Exchange("stamps.events", type="topic", durable=True)
    with Connection(config["AMQP_URI"]) as conn:
        exchange(conn.channel()).declare()
    with get_producer(config["AMQP_URI"]) as producer:
        producer.publish(outbox.envelope("stamps.granted", 1, shop_id, {
            "entry_id": 1, "card_id": "c1", "phone": "+66812345678", "stamps": 1, "branch_id": "b1"}),
            exchange=exchange, routing_key="granted.v1", serializer="json")
    found = member(members, shop_id)
    assert (found["status"], found["points_balance"], found["lifetime_points"]) == ("phone_only", 0, 0)
    publish(config, earned(shop_id, points=10, balance=10, seq=1))
    assert wait_for(lambda: member(members, shop_id)["points_balance"] == 10)
