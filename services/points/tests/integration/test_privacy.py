"""Personal data in the points service: a member's records, erasure (members.erased) and a
cancelled shop's purge (members.shop_purged), against PostgreSQL and RabbitMQ."""
import datetime
import json
import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from chassis import errors
from chassis.testing import wait_for

from .conftest import BRANCH, SHOP, balance_of, check_ledger, credit_request, sale, spend_request, void_request

MEMBER = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
PSEUDONYM = f"erased:{MEMBER}"
OTHER_SHOP = "44444444-4444-4444-4444-444444444444"
OTHER_BRANCH = "55555555-5555-5555-5555-555555555555"


@pytest.fixture
def publish(config):
    dispatch = event_dispatcher(config)

    def send(event_type, data, shop_id=SHOP, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": f"members.{event_type}", "version": 1,
                    "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": str(shop_id),
                    "data": data}
        dispatch("members", f"{event_type}.v1", envelope)
        return envelope

    return send


def history(points):
    """A member with sales, a spend, a void, an order, an adjustment and a scanned one-time QR code:
    10 + 5 - 4 - 5 + 7 + 3 + 4 = 20."""
    first = points.earn(sale(amount="250"))
    points.earn(sale(amount="125"))
    points.spend(spend_request(4))
    points.void(void_request(sale_id=first["sale_id"]))
    points.record_order({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "order_id": "ORD-1",
                         "phone": "0812345678", "amount": "175", "actor": {"type": "internal_system", "id": "m"}})
    points.credit(credit_request(3))
    qr = points.create_qr({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "branch_id": str(BRANCH),
                           "amount": "100", "actor": {"type": "staff", "id": "s1"}})
    points.claim_qr({"shop_id": str(SHOP), "token": qr["token"], "phone": "0812345678"})


def pseudonym_balance(points):
    return points.member_data({"shop_id": str(SHOP), "phone": PSEUDONYM})["account"]["balance"]


def inbox_count(db, handler):
    return db.execute("SELECT count(*) FROM inbox WHERE handler = %s", (handler,)).fetchone()["count"]


def test_member_data_holds_the_account_ledger_lots_sales_and_orders(points, db):
    history(points)
    data = points.member_data({"shop_id": str(SHOP), "phone": "081-234-5678"})
    assert data["service"] == "points" and data["account"]["balance"] == balance_of(points)
    assert sum(e["points"] for e in data["entries"]) == data["account"]["balance"]
    assert len(data["sales"]) == 3 and len(data["orders"]) == 1 and len(data["spends"]) == 1
    assert sum(lot["remaining"] for lot in data["lots"]) == data["account"]["balance"]
    assert "fingerprint" not in data["sales"][0]
    json.dumps(data)
    unknown = points.member_data({"shop_id": str(SHOP), "phone": "0899999999"})
    assert unknown["account"] is None and unknown["entries"] == []
    with pytest.raises(errors.InvalidInput) as caught:
        points.member_data({"shop_id": str(SHOP), "phone": "erased:someone"})
    assert "phone" in caught.value.fields


def test_an_erased_member_s_account_carries_the_pseudonym_with_the_same_balance(points, publish, db):
    history(points)
    points.earn(sale(phone="0899999999"))
    before = balance_of(points)
    totals = db.execute("SELECT sum(points) AS s, count(*) AS n FROM entries").fetchone()
    event = publish("erased", {"member_id": MEMBER, "phone": "+66812345678", "pseudonym": PSEUDONYM,
                               "erased_at": datetime.datetime.now(datetime.UTC).isoformat()})
    assert wait_for(lambda: inbox_count(db, "points.on_member_erased") == 1)
    for table, column in (("accounts", "phone"), ("entries", "phone"), ("lots", "phone"), ("sales", "phone"),
                          ("spends", "phone"), ("orders", "phone"), ("qr_codes", "claimed_phone")):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE {column} = '+66812345678'").fetchone()["count"] == 0
    assert pseudonym_balance(points) == before
    assert db.execute("SELECT sum(points) AS s, count(*) AS n FROM entries").fetchone() == totals
    check_ledger(db)
    with pytest.raises(errors.NotFound):
        balance_of(points, "0812345678")
    assert balance_of(points, "0899999999") == 5
    data = points.member_data({"shop_id": str(SHOP), "phone": PSEUDONYM})
    assert data["account"]["balance"] == before and "+66812345678" not in json.dumps(data)
    publish("erased", event["data"], event_id=event["event_id"])
    publish("erased", event["data"])  # another event for the same member: nothing left to re-key
    assert wait_for(lambda: inbox_count(db, "points.on_member_erased") == 2)
    assert pseudonym_balance(points) == before
    assert points.reconcile()["drift"] == []


def test_the_ledger_still_refuses_any_other_change(points, db):
    import psycopg

    points.earn(sale())
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE entries SET points = points + 1")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE entries SET phone = 'erased:x', points = points + 1")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("DELETE FROM entries")


def test_a_sale_after_the_erasure_opens_a_new_account_for_the_phone(points, publish, db):
    points.earn(sale())
    publish("erased", {"member_id": MEMBER, "phone": "+66812345678", "pseudonym": PSEUDONYM})
    assert wait_for(lambda: inbox_count(db, "points.on_member_erased") == 1)
    assert points.earn(sale())["balance"] == 5
    assert pseudonym_balance(points) == 5


def test_a_purged_shop_s_data_is_deleted_and_other_shops_keep_theirs(points, members, publish, db):
    members.shops[OTHER_SHOP] = {"shop_id": OTHER_SHOP, "timezone": "Asia/Bangkok", "name": "Other"}
    members.branches[OTHER_BRANCH] = {"branch_id": OTHER_BRANCH, "shop_id": OTHER_SHOP}
    points.set_earn_rule({"shop_id": OTHER_SHOP, "points": 1, "per_baht": "25"})
    history(points)
    qr = points.create_qr({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "branch_id": str(BRANCH),
                           "amount": "250", "actor": {"type": "staff", "id": "s"}})
    points.claim_qr({"shop_id": str(SHOP), "token": qr["token"], "phone": "0899999999"})
    points.earn(sale(shop_id=OTHER_SHOP, branch_id=OTHER_BRANCH))
    event = publish("shop_purged", {"shop_id": str(SHOP), "cancelled_at": "2026-01-15T03:00:00+00:00",
                                    "purged_at": "2026-05-03T00:00:00+00:00"})
    assert wait_for(lambda: inbox_count(db, "points.on_shop_purged") == 1)
    for table in ("accounts", "entries", "lots", "sales", "spends", "orders", "voids", "qr_codes", "earn_rules",
                  "branches", "shops"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE shop_id = %s", (SHOP,)).fetchone()["count"] == 0
    assert db.execute("SELECT count(*) FROM lot_moves").fetchone()["count"] == 0
    other = db.execute("SELECT count(*) FROM entries WHERE shop_id = %s", (OTHER_SHOP,)).fetchone()["count"]
    assert other == 1
    check_ledger(db)
    publish("shop_purged", event["data"], event_id=event["event_id"])
    publish("shop_purged", event["data"])
    assert wait_for(lambda: inbox_count(db, "points.on_shop_purged") == 2)
    assert db.execute("SELECT count(*) FROM entries").fetchone()["count"] == 1


def test_a_big_shop_is_purged_in_chunks(points, db, dsn):
    from chassis.db import Store, make_pool
    from points import privacy

    for n in range(5):
        points.earn(sale(phone=f"08123456{n:02d}"))
    pool = make_pool(dsn, min_size=1, max_size=2)
    event = {"event_id": str(uuid.uuid4()), "type": "members.shop_purged", "shop_id": str(SHOP),
             "data": {"shop_id": SHOP}}
    try:
        assert privacy.purge_shop(Store(pool), "points.on_shop_purged", event, chunk=2) == 5
    finally:
        pool.close()
    assert db.execute("SELECT count(*) FROM accounts").fetchone()["count"] == 0
    assert db.execute("SELECT count(*) FROM shops WHERE shop_id = %s", (SHOP,)).fetchone()["count"] == 0
