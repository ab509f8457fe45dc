"""Contacts from members' events: a registration's name and LINE link decide how messages go."""
from chassis.testing import wait_for

from .conftest import LINE_USER, PHONE, SHOP


def contact(db):
    return db.execute("SELECT name, line_user_id FROM contacts WHERE shop_id = %s AND phone = %s",
                      (SHOP, PHONE)).fetchone()


def handled(db, n):
    return wait_for(lambda: db.execute("SELECT count(*) AS n FROM inbox").fetchone()["n"] == n)


def test_a_registration_links_line_and_the_next_message_goes_by_line(notifier, publish, fake, db):
    publish("members", "registered", {"member_id": "m1", "phone": PHONE, "name": "Malee", "line_user_id": LINE_USER})
    assert handled(db, 1)
    assert contact(db) == {"name": "Malee", "line_user_id": LINE_USER}
    publish("points", "earned", {"phone": PHONE, "points": 2, "balance": 2})
    assert handled(db, 2)
    notifier.run_sender({})
    assert wait_for(lambda: fake.received)
    assert (fake.received[0]["channel"], fake.received[0]["to"]) == ("line_push", LINE_USER)


def test_an_update_renames_and_an_unlink_sends_by_sms_again(notifier, publish, db):
    publish("members", "registered", {"member_id": "m1", "phone": PHONE, "name": "Malee", "line_user_id": LINE_USER})
    assert handled(db, 1)
    publish("members", "updated", {"member_id": "m1", "phone": PHONE, "name": "Malee S.", "line_user_id": None,
                                   "changed": ["line_user_id", "name"]})
    assert handled(db, 2)
    assert contact(db) == {"name": "Malee S.", "line_user_id": None}
    publish("points", "earned", {"phone": PHONE, "points": 2, "balance": 2})
    assert handled(db, 3)
    [message] = notifier.messages({"shop_id": SHOP})["messages"]
    assert message["channel"] == "sms"


def test_a_registration_without_line_keeps_a_link_made_before(notifier, publish, db):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    publish("members", "registered", {"member_id": "m1", "phone": PHONE, "name": "Somchai", "line_user_id": None})
    assert handled(db, 1)
    assert contact(db) == {"name": "Somchai", "line_user_id": LINE_USER}
