"""Personal data in the notifier: a member's contact and messages, erasure (members.erased) and
a cancelled shop's purge (members.shop_purged), against PostgreSQL and RabbitMQ."""
import json
import uuid

import pytest

from chassis import errors
from chassis.testing import wait_for

from .conftest import LINE_USER, PHONE, SHOP

MEMBER = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
PSEUDONYM = f"erased:{MEMBER}"
OTHER_PHONE = "+66899999999"
OTHER_SHOP = "44444444-4444-4444-4444-444444444444"


def coupon(phone=PHONE):
    return {"phone": phone, "code": "NKZ9GF4QT", "name": "Free cookie", "expires_at": "2026-12-27T16:59:59+00:00",
            "coupon_id": str(uuid.uuid4())}


def inbox_count(db, handler):
    return db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (handler,)).fetchone()["count"]


def message_count(db, shop=SHOP):
    return db.execute("SELECT count(*) FROM messages WHERE shop_id = %s", (shop,)).fetchone()["count"]


def history(notifier, publish, db):
    """The member: a LINE contact, a coupon message sent, a campaign multicast queued; another member too."""
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "name": "Nok", "line_user_id": LINE_USER})
    notifier.set_contact({"shop_id": SHOP, "phone": OTHER_PHONE, "line_user_id": "U" + "b" * 32})
    publish("rewards", "coupon_issued", coupon())
    publish("rewards", "coupon_issued", coupon(OTHER_PHONE))
    assert wait_for(lambda: message_count(db) == 2)
    notifier.run_sender({})
    notifier.send_campaign({"shop_id": SHOP, "campaign_id": "c-1", "phones": [PHONE, OTHER_PHONE], "text": "2 for 1"})


def test_member_data_holds_the_contact_and_every_message(notifier, publish, fake, db):
    history(notifier, publish, db)
    data = notifier.member_data({"shop_id": SHOP, "phone": "081-234-5678"})
    assert data["service"] == "notifier" and data["contact"]["line_user_id"] == LINE_USER
    assert data["contact"]["name"] == "Nok" and len(data["messages"]) == 2
    assert {m["status"] for m in data["messages"]} == {"sent", "queued"}
    json.dumps(data)
    with pytest.raises(errors.InvalidInput) as caught:
        notifier.member_data({"shop_id": SHOP})
    assert "phone" in caught.value.fields


def test_erasure_forgets_the_contact_and_empties_the_member_s_messages_once(notifier, publish, fake, db):
    history(notifier, publish, db)
    event_id = publish("members", "erased", {"member_id": MEMBER, "phone": PHONE, "pseudonym": PSEUDONYM})
    assert wait_for(lambda: inbox_count(db, "notifier.on_member_erased") == 1)
    assert notifier.member_data({"shop_id": SHOP, "phone": PHONE}) == {
        "service": "notifier", "phone": PHONE, "contact": None, "messages": []}
    erased = notifier.member_data({"shop_id": SHOP, "phone": PSEUDONYM})
    assert len(erased["messages"]) == 2 and erased["contact"] is None
    assert all(m["recipient"] is None and m["body"] == "" and m["flex"] is None for m in erased["messages"])
    assert {m["status"] for m in erased["messages"]} == {"sent", "skipped"}
    text = json.dumps(erased)
    assert LINE_USER not in text and "Nok" not in text and PHONE not in text, text
    [batch] = db.execute("SELECT recipients, status FROM line_batches").fetchall()
    assert batch["recipients"] == ["U" + "b" * 32] and batch["status"] == "queued"
    other = notifier.member_data({"shop_id": SHOP, "phone": OTHER_PHONE})
    assert other["contact"] is not None and all(m["body"] for m in other["messages"])
    publish("members", "erased", {"member_id": MEMBER, "phone": PHONE, "pseudonym": PSEUDONYM}, event_id=event_id)
    publish("members", "erased", {"member_id": MEMBER, "phone": PHONE, "pseudonym": PSEUDONYM})
    assert wait_for(lambda: inbox_count(db, "notifier.on_member_erased") == 2)
    assert len(notifier.member_data({"shop_id": SHOP, "phone": PSEUDONYM})["messages"]) == 2


def test_a_purged_shop_loses_its_messages_contacts_templates_and_channels(notifier, publish, fake, db):
    history(notifier, publish, db)
    notifier.save_channels({"shop_id": OTHER_SHOP, "shop_name": "Other", "line_token": "token-0123456789"})
    notifier.set_contact({"shop_id": OTHER_SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    event_id = publish("members", "shop_purged", {"shop_id": SHOP, "cancelled_at": "2026-01-15T03:00:00+00:00",
                                                  "purged_at": "2026-05-03T00:00:00+00:00"})
    assert wait_for(lambda: inbox_count(db, "notifier.on_shop_purged") == 1)
    for table in ("messages", "line_batches", "contacts", "templates", "shop_channels"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE shop_id = %s", (SHOP,)).fetchone()["count"] == 0
    assert db.execute("SELECT count(*) FROM contacts WHERE shop_id = %s", (OTHER_SHOP,)).fetchone()["count"] == 1
    publish("members", "shop_purged", {"shop_id": SHOP}, event_id=event_id)
    publish("members", "shop_purged", {"shop_id": SHOP})
    assert wait_for(lambda: inbox_count(db, "notifier.on_shop_purged") == 2)
    assert db.execute("SELECT count(*) FROM shop_channels WHERE shop_id = %s", (OTHER_SHOP,)).fetchone()["count"] == 1


def test_a_big_shop_is_purged_in_chunks(notifier, publish, fake, db, dsn):
    from chassis.db import Store, make_pool
    from notifier import privacy

    history(notifier, publish, db)
    pool = make_pool(dsn, min_size=1, max_size=2)
    event = {"event_id": str(uuid.uuid4()), "type": "members.shop_purged", "shop_id": SHOP, "data": {"shop_id": SHOP}}
    try:
        counts = privacy.purge_shop(Store(pool), "notifier.on_shop_purged", event, chunk=1)
    finally:
        pool.close()
    assert counts == {"messages": 4, "line_batches": 1, "contacts": 2}
    assert message_count(db) == 0
