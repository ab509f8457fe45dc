"""Welcome points from members.registered: once per member, only when the shop gives them."""
import uuid

from kombu import Connection, Exchange
from nameko.amqp.publish import get_producer

from chassis import outbox
from chassis.testing import wait_for

from .conftest import SHOP, balance_of, check_ledger


def publish_registered(config, member_id, phone="0812345678", event_id=None):
    exchange = Exchange("members.events", type="topic", durable=True)
    with Connection(config["AMQP_URI"]) as conn:
        exchange(conn.channel()).declare()
    envelope = outbox.envelope("members.registered", 1, SHOP, {
        "member_id": str(member_id), "phone": phone, "registered_via": "member", "claimed": False},
        event_id=event_id)
    with get_producer(config["AMQP_URI"]) as producer:
        producer.publish(envelope, exchange=exchange, routing_key="registered.v1", serializer="json")
    return envelope


def welcome_entries(db):
    return db.execute("SELECT count(*) AS n, coalesce(sum(points), 0) AS points FROM entries "
                      "WHERE kind = 'welcome'").fetchone()


def test_a_registered_member_gets_the_welcome_points_once(points, config, db):
    points.save_settings({"shop_id": str(SHOP), "expiry": {"mode": "never"}, "welcome_points": 50})
    member_id = uuid.uuid4()
    event = publish_registered(config, member_id)
    assert wait_for(lambda: welcome_entries(db)["n"] == 1)
    publish_registered(config, member_id, event_id=event["event_id"])  # redelivered
    publish_registered(config, member_id)  # the same member announced again
    other = publish_registered(config, uuid.uuid4(), phone="0899999999")
    assert wait_for(lambda: db.execute("SELECT 1 FROM inbox WHERE event_id = %s", (other["event_id"],)).fetchone())
    assert wait_for(lambda: welcome_entries(db)["n"] == 2)
    assert welcome_entries(db)["points"] == 100 and balance_of(points) == 50
    check_ledger(db)


def test_no_welcome_points_when_the_shop_gives_none(points, config, db):
    event = publish_registered(config, uuid.uuid4())
    assert wait_for(lambda: db.execute("SELECT 1 FROM inbox WHERE event_id = %s", (event["event_id"],)).fetchone())
    assert welcome_entries(db)["n"] == 0
