"""Stamp cards' reward tickets become coupons: stamps.ticket_earned (from the points service)
issues one coupon of the ticket's reward through the coupon birth path, once per ticket."""
import datetime
import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from chassis.testing import wait_for

from .conftest import PHONE, SHOP, events, reward_request


@pytest.fixture
def publish(config):
    dispatch = event_dispatcher(config)

    def send(data, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": "stamps.ticket_earned", "version": 1,
                    "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": SHOP, "data": data}
        dispatch("stamps", "ticket_earned.v1", envelope)
        return envelope

    return send


def ticket(reward_id, ticket_id=None):
    return {"ticket_id": ticket_id or str(uuid.uuid4()), "card_id": str(uuid.uuid4()), "phone": PHONE,
            "card_no": 1, "at_stamps": 10, "reward_id": reward_id, "card_name": "Coffee card", "entry_id": 7,
            "branch_id": None}


def stamp_coupons(db):
    return db.execute("SELECT phone, source, source_ref, reward_id FROM coupons WHERE source = 'stamp_card' "
                      "ORDER BY issued_at").fetchall()


def test_a_ticket_earned_is_issued_as_one_coupon_of_its_reward(rewards, db, publish):
    reward = rewards.create_reward(reward_request(name="Free coffee"))
    earned = ticket(reward["reward_id"])
    publish(earned)
    coupons = wait_for(lambda: stamp_coupons(db))
    assert [(c["phone"], c["source_ref"], str(c["reward_id"])) for c in coupons] == \
        [(PHONE, earned["ticket_id"], reward["reward_id"])]
    issued = wait_for(lambda: events(db, "rewards.coupons_issued"))
    assert issued[0]["data"]["source"] == "stamp_card" and issued[0]["data"]["source_ref"] == earned["ticket_id"]
    assert rewards.member_coupons({"shop_id": SHOP, "phone": PHONE})["coupons"][0]["source"] == "stamp_card"


def test_a_ticket_is_issued_once_however_often_its_event_arrives(rewards, db, publish):
    reward = rewards.create_reward(reward_request())
    earned = ticket(reward["reward_id"])
    first = publish(earned)
    publish(earned, event_id=first["event_id"])  # a redelivery
    publish(earned)  # the same ticket published again (another event id)
    wait_for(lambda: db.execute("SELECT count(*) FROM inbox WHERE handler = 'rewards.stamp_tickets'")
             .fetchone()["count"] == 2)
    other = ticket(reward["reward_id"])
    publish(other)
    assert wait_for(lambda: len(stamp_coupons(db)) == 2)
    assert sorted(c["source_ref"] for c in stamp_coupons(db)) == sorted([earned["ticket_id"], other["ticket_id"]])


def test_a_ticket_whose_reward_can_no_longer_be_issued_is_dead_lettered_not_lost(rewards, db, publish, config):
    import kombu

    reward = rewards.create_reward(reward_request())
    rewards.archive_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})
    publish(ticket(reward["reward_id"]))

    def dead_lettered():
        with kombu.Connection(config["AMQP_URI"]) as conn:
            queue = "evt-stamps-ticket_earned.v1--rewards.on_stamp_ticket_earned.dlq"
            try:
                return conn.default_channel.queue_declare(queue, passive=True).message_count == 1
            except Exception:  # noqa: BLE001 - not declared yet
                return False

    assert wait_for(dead_lettered)
    assert stamp_coupons(db) == []
