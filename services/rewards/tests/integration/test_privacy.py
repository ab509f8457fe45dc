"""Personal data in rewards: a member's redemptions and coupons, erasure (members.erased) and a
cancelled shop's purge (members.shop_purged), against PostgreSQL and RabbitMQ."""
import datetime
import json
import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from chassis import errors
from chassis.testing import wait_for

from .conftest import ADDRESS, OTHER_SHOP, PHONE, SHOP, redeem_request, reward_request

MEMBER = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
PSEUDONYM = f"erased:{MEMBER}"
OTHER_PHONE = "+66899999999"


@pytest.fixture
def publish(config):
    dispatch = event_dispatcher(config)

    def send(event_type, data, shop_id=SHOP, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": f"members.{event_type}", "version": 1,
                    "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": shop_id, "data": data}
        dispatch("members", f"{event_type}.v1", envelope)
        return envelope

    return send


def history(rewards, fakes, shop=SHOP):
    """A coffee redeemed, a parcel redeemed with an address, a campaign coupon; and another member's coupon."""
    fakes.balances[OTHER_PHONE] = 1000
    coffee = rewards.create_reward(reward_request(shop_id=shop))
    parcel = rewards.create_reward(reward_request(shop_id=shop, kind="delivery", name="Mug"))
    rewards.redeem(redeem_request(coffee["reward_id"], shop_id=shop))
    rewards.redeem(redeem_request(parcel["reward_id"], shop_id=shop, address=ADDRESS))
    rewards.issue_coupons({"idempotency_key": str(uuid.uuid4()), "shop_id": shop, "reward_id": coffee["reward_id"],
                           "phones": [PHONE, OTHER_PHONE], "source": "campaign", "source_ref": "c-1",
                           "actor": {"type": "internal_system", "id": "campaigns"}})


def inbox_count(db, handler):
    return db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (handler,)).fetchone()["count"]


def test_member_data_holds_redemptions_with_the_address_and_coupons_with_history(rewards, fakes):
    history(rewards, fakes)
    data = rewards.member_data({"shop_id": SHOP, "phone": "081-234-5678"})
    assert data["service"] == "rewards" and len(data["redemptions"]) == 2 and len(data["coupons"]) == 3
    assert [r["address"]["line1"] for r in data["redemptions"] if r["address"]] == [ADDRESS["line1"]]
    assert all("history" in c for c in data["coupons"])
    assert "fingerprint" not in data["redemptions"][0]
    json.dumps(data)
    with pytest.raises(errors.InvalidInput) as caught:
        rewards.member_data({"shop_id": SHOP, "phone": "not a phone"})
    assert "phone" in caught.value.fields


def test_erasure_puts_the_pseudonym_on_coupons_and_removes_delivery_addresses_once(rewards, fakes, publish, db):
    history(rewards, fakes)
    event = publish("erased", {"member_id": MEMBER, "phone": PHONE, "pseudonym": PSEUDONYM})
    assert wait_for(lambda: inbox_count(db, "rewards.on_member_erased") == 1)
    assert rewards.member_data({"shop_id": SHOP, "phone": PHONE}) == {
        "service": "rewards", "phone": PHONE, "redemptions": [], "coupons": []}
    erased = rewards.member_data({"shop_id": SHOP, "phone": PSEUDONYM})
    assert len(erased["redemptions"]) == 2 and len(erased["coupons"]) == 3
    assert all(r["address"] is None for r in erased["redemptions"])
    assert "Sukhumvit" not in json.dumps(erased) and PHONE not in json.dumps(erased)
    assert all(r["spend"].get("phone", PSEUDONYM) == PSEUDONYM for r in erased["redemptions"])
    assert len(rewards.member_data({"shop_id": SHOP, "phone": OTHER_PHONE})["coupons"]) == 1
    publish("erased", event["data"], event_id=event["event_id"])
    publish("erased", event["data"])
    assert wait_for(lambda: inbox_count(db, "rewards.on_member_erased") == 2)
    assert len(rewards.member_data({"shop_id": SHOP, "phone": PSEUDONYM})["coupons"]) == 3


def test_a_purged_shop_loses_its_rewards_coupons_and_redemptions_and_the_others_keep_theirs(rewards, fakes,
                                                                                             publish, db):
    history(rewards, fakes)
    history(rewards, fakes, shop=OTHER_SHOP)
    event = publish("shop_purged", {"shop_id": SHOP, "cancelled_at": "2026-01-15T03:00:00+00:00",
                                    "purged_at": "2026-05-03T00:00:00+00:00"})
    assert wait_for(lambda: inbox_count(db, "rewards.on_shop_purged") == 1)
    for table in ("coupons", "redemptions", "rewards", "shops"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE shop_id = %s", (SHOP,)).fetchone()["count"] == 0
        assert db.execute(f"SELECT count(*) FROM {table} WHERE shop_id = %s", (OTHER_SHOP,)).fetchone()["count"] > 0
    history_left = db.execute("SELECT count(*) FROM coupon_history h JOIN coupons c USING (coupon_id)").fetchone()
    assert history_left["count"] == db.execute("SELECT count(*) FROM coupon_history").fetchone()["count"]
    publish("shop_purged", event["data"], event_id=event["event_id"])
    publish("shop_purged", event["data"])
    assert wait_for(lambda: inbox_count(db, "rewards.on_shop_purged") == 2)
    assert db.execute("SELECT count(*) FROM coupons WHERE shop_id = %s", (OTHER_SHOP,)).fetchone()["count"] == 4


def test_a_big_shop_is_purged_in_chunks(rewards, fakes, dsn, db):
    from chassis.db import Store, make_pool
    from rewards import privacy

    history(rewards, fakes)
    pool = make_pool(dsn, min_size=1, max_size=2)
    event = {"event_id": str(uuid.uuid4()), "type": "members.shop_purged", "shop_id": SHOP,
             "data": {"shop_id": SHOP}}
    try:
        assert privacy.purge_shop(Store(pool), "rewards.on_shop_purged", event, chunk=2) == {
            "coupons": 4, "redemptions": 2}
    finally:
        pool.close()
    assert db.execute("SELECT count(*) FROM coupons").fetchone()["count"] == 0
