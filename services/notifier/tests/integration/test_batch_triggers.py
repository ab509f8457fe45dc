"""The event triggers in batches: one transaction and one set-based enqueue per batch, writing
the rows that one event at a time (`messages.enqueue`) would; duplicates, redeliveries and
malformed events, through the handler itself and through RabbitMQ."""
import datetime
import uuid

import psycopg
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from chassis.testing import wait_for

from .conftest import LINE_USER, PHONE, SHOP

OTHER_SHOP = "44444444-4444-4444-4444-444444444444"
SMS_ONLY = "+66810000002"  # no contact: SMS in SHOP
OPTED_OUT = "+66810000003"
UNKNOWN = "+66810000004"  # no contact, and OTHER_SHOP has no SMS
BLOCKED = "+66810000005"
NOTHING_EARNED = "+66810000006"
HANDLER = "notifier.on_points_earned"
# Everything a message row holds that is not made fresh each time (id, clock times).
COMPARED = ("shop_id", "phone", "trigger", "kind", "dedupe_key", "campaign_id", "channel", "recipient", "body",
            "flex", "status", "reason", "attempts", "provider_id", "sms_parts", "sent_at", "delivered_at")


@pytest.fixture
def container(container_factory, config):
    from notifier.service import NotifierService

    container = container_factory(NotifierService, config)
    container.start()
    return container


@pytest.fixture
def shops(container, config):
    """SHOP: LINE and SMS, Thai. OTHER_SHOP: LINE only, English, its own points text. Contacts:
    LINE in both shops, opted out, blocked on LINE; other members have none."""
    with ServiceRpcProxy("notifier", config, timeout=20) as proxy:
        proxy.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": "token-0123456789",
                             "sms_enabled": True, "sms_provider": "thaibulksms", "sms_sender": "CAFE",
                             "sms_credentials": {"api_key": "k", "api_secret": "s"}})
        proxy.save_channels({"shop_id": OTHER_SHOP, "shop_name": "Deli", "line_token": "token-9876543210",
                             "language": "en"})
        proxy.set_template({"shop_id": OTHER_SHOP, "trigger": "points_earned", "language": "en",
                            "body": "Hi {name}! +{points} at {shop}"})
        proxy.set_contact({"shop_id": SHOP, "phone": PHONE, "name": "Nok", "language": "en",
                           "line_user_id": LINE_USER})
        proxy.set_contact({"shop_id": SHOP, "phone": OPTED_OUT, "opt_out_transactional": True})
        proxy.set_contact({"shop_id": OTHER_SHOP, "phone": PHONE, "name": "Ploy", "line_user_id": "U" + "c" * 32})
        proxy.set_contact({"shop_id": OTHER_SHOP, "phone": BLOCKED, "line_user_id": "U" + "b" * 32,
                           "line_blocked": True})
        yield proxy


def envelope(event_type, shop_id, data, event_id=None):
    return {"event_id": event_id or str(uuid.uuid4()), "type": event_type, "version": 1,
            "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": shop_id, "data": data}


def earned(shop_id, phone, points, event_id=None):
    return envelope("points.earned", shop_id, {"phone": phone, "points": points, "balance": 100 + points}, event_id)


def rows(db):
    return db.execute("SELECT * FROM messages ORDER BY dedupe_key").fetchall()


def one_by_one(db, items):
    """The rows `messages.enqueue` writes for `items`, one after the other (then rolled back)."""
    from notifier import messages

    with db.transaction():
        written = [messages.enqueue(db, **item) for item in items]
        raise psycopg.Rollback()
    return sorted((row for row in written if row is not None), key=lambda row: row["dedupe_key"])


def assert_same_rows(batch, reference):
    assert [{k: row[k] for k in COMPARED} for row in batch] == [{k: row[k] for k in COMPARED} for row in reference]
    for row in batch:
        assert (row["next_attempt_at"] is not None) == (row["status"] == "queued")


def test_a_batch_of_sales_writes_the_rows_one_by_one_would(container, shops, db):
    events = [earned(SHOP, PHONE, 5), earned(SHOP, SMS_ONLY, 7), earned(SHOP, OPTED_OUT, 2),
              earned(OTHER_SHOP, PHONE, 9), earned(OTHER_SHOP, UNKNOWN, 3), earned(OTHER_SHOP, BLOCKED, 4),
              earned(SHOP, NOTHING_EARNED, 0), earned(SHOP, SMS_ONLY, 1)]
    reference = one_by_one(db, [
        {"shop_id": e["shop_id"], "phone": e["data"]["phone"], "trigger": "points_earned",
         "values": {"points": e["data"]["points"], "balance": e["data"]["balance"]},
         "dedupe_key": f"{e['event_id']}:points_earned"} for e in events if e["data"]["points"] > 0])
    with entrypoint_hook(container, "on_points_earned") as handle:
        assert handle(events) == {}
    written = rows(db)
    assert len(written) == 7  # not the sale that earned nothing
    assert_same_rows(written, reference)
    by_member = {(str(r["shop_id"]), r["phone"], r["body"]): (r["channel"], r["recipient"], r["status"], r["reason"])
                 for r in written}
    assert by_member == {
        (SHOP, PHONE, "Cafe: you earned 5 points. Your balance is 105 points."): ("line", LINE_USER, "queued", None),
        (SHOP, SMS_ONLY, "Cafe: คุณได้รับ 7 คะแนน คะแนนสะสมของคุณคือ 107 คะแนน"): ("sms", SMS_ONLY, "queued", None),
        (SHOP, SMS_ONLY, "Cafe: คุณได้รับ 1 คะแนน คะแนนสะสมของคุณคือ 101 คะแนน"): ("sms", SMS_ONLY, "queued", None),
        (SHOP, OPTED_OUT, "Cafe: คุณได้รับ 2 คะแนน คะแนนสะสมของคุณคือ 102 คะแนน"):
            ("none", None, "skipped", "opted out of transactional messages"),
        (OTHER_SHOP, PHONE, "Hi Ploy! +9 at Deli"): ("line", "U" + "c" * 32, "queued", None),
        (OTHER_SHOP, UNKNOWN, "Hi ! +3 at Deli"):
            ("none", None, "skipped", "no LINE link and the shop has not enabled SMS"),
        (OTHER_SHOP, BLOCKED, "Hi ! +4 at Deli"):
            ("none", None, "skipped", "the member blocked the shop on LINE and the shop has no SMS"),
    }
    assert {r["sms_parts"] for r in written if r["channel"] == "sms"} == {1}
    assert db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (HANDLER,)).fetchone()["count"] == 8


def test_coupons_in_batches_write_the_rows_one_by_one_would(container, shops, db):
    coupon = {"phone": PHONE, "code": "NKZ9GF4QT", "name": "Free cookie", "expires_at": "2026-12-27T16:59:59+00:00"}
    given = [envelope("rewards.coupon_issued", SHOP, coupon),
             envelope("rewards.coupon_issued", SHOP, {**coupon, "phone": SMS_ONLY, "code": "ABCDEFGHJ"}),
             envelope("rewards.coupon_issued", OTHER_SHOP, {**coupon, "expires_at": None})]
    bulk = envelope("rewards.coupons_issued", SHOP, {"name": "Voucher", "expires_at": None, "coupons": [
        {"coupon_id": "c1", "code": "CODE1", "phone": PHONE}, {"coupon_id": "c2", "code": "CODE2", "phone": UNKNOWN},
        {"coupon_id": "c1", "code": "CODE1", "phone": PHONE}]})  # a coupon listed twice: one message
    expires = datetime.datetime(2026, 12, 27, 16, 59, 59, tzinfo=datetime.UTC)
    reference = one_by_one(db, [
        {"shop_id": e["shop_id"], "phone": e["data"]["phone"], "trigger": "coupon_received",
         "values": {"reward": "Free cookie", "code": e["data"]["code"],
                    "expires": expires if e["data"]["expires_at"] else None},
         "dedupe_key": f"{e['event_id']}:coupon"} for e in given] + [
        {"shop_id": SHOP, "phone": c["phone"], "trigger": "coupon_received",
         "values": {"reward": "Voucher", "code": c["code"], "expires": None},
         "dedupe_key": f"{bulk['event_id']}:{c['coupon_id']}"} for c in bulk["data"]["coupons"]])
    with entrypoint_hook(container, "on_coupon_issued") as handle:
        assert handle(given) == {}
    with entrypoint_hook(container, "on_coupons_issued") as handle:
        assert handle([bulk]) == {}
    written = rows(db)
    assert len(written) == 5
    assert_same_rows(written, reference)
    flex = {r["phone"]: r["flex"] for r in written if r["shop_id"] == uuid.UUID(SHOP) and "cookie" in r["body"]}
    assert flex[SMS_ONLY] is None and "NKZ9-GF4QT" in str(flex[PHONE]) and "27/12/2026" in str(flex[PHONE])


def test_a_batch_of_tier_changes_remembers_each_member_s_last_tier_before_its_messages(container, shops, db):
    changes = [envelope("members.tier_changed", SHOP, {"phone": PHONE, "from": None, "to": "Silver"}),
               envelope("members.tier_changed", SHOP, {"phone": PHONE, "from": "Silver", "to": "Gold"}),
               envelope("members.tier_changed", SHOP, {"phone": SMS_ONLY, "from": "Basic", "to": None}),
               envelope("members.tier_changed", OTHER_SHOP, {"phone": UNKNOWN, "from": None, "to": "Basic"})]
    with entrypoint_hook(container, "on_tier_changed") as handle:
        assert handle(changes) == {}
    tiers = {(str(r["shop_id"]), r["phone"]): r["tier"] for r in db.execute("SELECT * FROM contacts")}
    assert (tiers[(SHOP, PHONE)], tiers[(SHOP, SMS_ONLY)], tiers[(OTHER_SHOP, UNKNOWN)]) == ("Gold", None, "Basic")
    assert [(r["phone"], r["body"], r["channel"]) for r in sorted(rows(db), key=lambda r: r["body"])] == [
        (PHONE, "Cafe: your member tier is now Gold.", "line"),
        (PHONE, "Cafe: your member tier is now Silver.", "line"),
        (UNKNOWN, "Deli: your member tier is now Basic.", "none")]
    shops.set_template({"shop_id": OTHER_SHOP, "trigger": "points_earned", "language": "en",
                        "body": "+{points} ({tier})"})
    with entrypoint_hook(container, "on_points_earned") as handle:  # the tier as later texts see it
        handle([earned(OTHER_SHOP, UNKNOWN, 3)])
    assert "+3 (Basic)" in [r["body"] for r in rows(db)]


def test_a_duplicate_in_a_batch_and_a_redelivery_add_nothing_and_a_malformed_event_is_rejected_alone(
        container, shops, db):
    first, second = earned(SHOP, PHONE, 5), earned(OTHER_SHOP, PHONE, 6)
    malformed = envelope("points.earned", SHOP, {"phone": SMS_ONLY})  # no points, no balance
    with entrypoint_hook(container, "on_points_earned") as handle:
        rejected = handle([first, malformed, first, second])
        assert list(rejected) == [1] and "points" in rejected[1] and "balance" in rejected[1]
        assert len(rows(db)) == 2
        assert handle([second, first]) == {}  # the broker delivers them again
        assert handle([earned(SHOP, PHONE, 5, event_id=first["event_id"])]) == {}
    expected = [(SHOP, PHONE, f"{first['event_id']}:points_earned"),
                (OTHER_SHOP, PHONE, f"{second['event_id']}:points_earned")]
    assert [(str(r["shop_id"]), r["phone"], r["dedupe_key"]) for r in rows(db)] == sorted(expected, key=lambda r: r[2])
    assert db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (HANDLER,)).fetchone()["count"] == 2


def test_an_event_the_database_refuses_is_rejected_alone_and_the_batch_applied(container, shops, db):
    good, other = earned(SHOP, PHONE, 5), earned(SHOP, SMS_ONLY, 6)
    bad_shop = earned("not-a-shop", PHONE, 7)  # no retry can make this a shop id
    with entrypoint_hook(container, "on_points_earned") as handle:
        rejected = handle([good, bad_shop, other])
    assert list(rejected) == [1] and "invalid input syntax for type uuid" in rejected[1]
    assert sorted(r["phone"] for r in rows(db)) == sorted([PHONE, SMS_ONLY])
    inbox = {r["event_id"] for r in db.execute("SELECT event_id FROM inbox WHERE handler = %s", (HANDLER,))}
    assert inbox == {uuid.UUID(good["event_id"]), uuid.UUID(other["event_id"])}


def test_an_event_that_fails_for_any_other_reason_is_rejected_alone_and_the_batch_applied(
        container, shops, db, monkeypatch):
    """Not only the database: an event whose message cannot be made (here: rendering fails
    for one member) is dead-lettered alone; the rest of its batch is applied, once."""
    from notifier import messages

    real = messages._message

    def failing(shop, contact, template, **row):
        if row["phone"] == SMS_ONLY:
            raise ValueError("cannot render")
        return real(shop, contact, template, **row)

    monkeypatch.setattr(messages, "_message", failing)
    good, bad, other = earned(SHOP, PHONE, 5), earned(SHOP, SMS_ONLY, 6), earned(OTHER_SHOP, PHONE, 7)
    with entrypoint_hook(container, "on_points_earned") as handle:
        rejected = handle([good, bad, other])
    assert list(rejected) == [1] and "ValueError" in rejected[1]
    assert sorted(str(r["shop_id"]) for r in rows(db)) == sorted([SHOP, OTHER_SHOP])
    inbox = {r["event_id"] for r in db.execute("SELECT event_id FROM inbox WHERE handler = %s", (HANDLER,))}
    assert inbox == {uuid.UUID(good["event_id"]), uuid.UUID(other["event_id"])}


def test_a_coupon_valid_to_the_end_of_time_is_announced_with_the_rest_of_its_batch(container, shops, db):
    coupon = {"phone": PHONE, "code": "NKZ9GF4QT", "name": "Free cookie", "expires_at": "2026-12-27T16:59:59+00:00"}
    forever = {**coupon, "phone": SMS_ONLY, "code": "ABCDEFGHJ", "expires_at": "9999-12-31T23:00:00+00:00"}
    with entrypoint_hook(container, "on_coupon_issued") as handle:
        assert handle([envelope("rewards.coupon_issued", SHOP, coupon),
                       envelope("rewards.coupon_issued", SHOP, forever)]) == {}
    bodies = {r["phone"]: r["body"] for r in rows(db)}
    assert "31/12/9999" in bodies[SMS_ONLY] and "27/12/2026" in bodies[PHONE]


def test_a_member_s_messages_of_one_batch_keep_the_order_of_their_events(container, shops, db):
    sales = [earned(SHOP, PHONE, points) for points in (1, 2, 3, 4, 5)]
    with entrypoint_hook(container, "on_points_earned") as handle:
        assert handle(sales) == {}
    written = db.execute("SELECT dedupe_key, created_at, next_attempt_at FROM messages "
                         "ORDER BY created_at, message_id").fetchall()
    assert [r["dedupe_key"] for r in written] == [f"{e['event_id']}:points_earned" for e in sales]
    due = [r["next_attempt_at"] for r in written]
    assert due == sorted(due) and len(set(due)) == len(due)


def test_events_waiting_in_the_queue_are_applied_together_and_the_malformed_one_dead_lettered(
        container_factory, config, publish, db):
    """Published before the notifier starts, the events reach it together (batches of up to
    max_workers): the malformed one goes to the dead-letter queue, the others are applied once."""
    from chassis import dlq, topology
    from notifier.service import NotifierService

    topology.declare(NotifierService, config)
    first = publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5})
    publish("points", "earned", {"phone": PHONE})  # malformed
    publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5}, event_id=first)  # again
    publish("points", "earned", {"phone": SMS_ONLY, "points": 6, "balance": 6})
    container_factory(NotifierService, config).start()
    queue = "evt-points-earned.v1--notifier.on_points_earned.dlq"
    assert wait_for(lambda: dlq.count(config["AMQP_URI"], queue) == 1)
    assert wait_for(lambda: len(rows(db)) == 2)
    assert sorted((r["phone"], r["channel"], r["status"], r["reason"]) for r in rows(db)) == [
        (SMS_ONLY, "none", "skipped", "no LINE link and the shop has not enabled SMS"),
        (PHONE, "none", "skipped", "no LINE link and the shop has not enabled SMS")]  # this shop set no channels
    assert db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (HANDLER,)).fetchone()["count"] == 2
