import datetime
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import errors

from .conftest import BRANCH, SHOP, balance_of, check_ledger, staff

MARKETPLACE = {"type": "internal_system", "id": "marketplace"}


def order(order_id="ORD-1", amount="1000", phone="0812345678", **extra):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "order_id": order_id, "phone": phone,
            "amount": amount, "actor": MARKETPLACE, **extra}


def refund(order_id, refund_id, amount):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "order_id": order_id,
            "refund_id": refund_id, "amount": amount, "actor": MARKETPLACE}


def test_an_order_earns_once_whatever_the_idempotency_key(points, db):
    first = points.record_order(order())
    again = points.record_order(order())  # the marketplace retries with a new key
    assert (first["points"], first["balance"], again["replayed"], balance_of(points)) == (40, 40, True, 40)
    with pytest.raises(errors.Conflict) as caught:
        points.record_order(order(amount="2000"))
    assert caught.value.code == "order_already_recorded"
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'earned.v1'").fetchone()["envelope"]
    assert event["data"]["source"] == "order" and event["data"]["order"] == {"order_id": "ORD-1",
                                                                             "amount_satang": 100000}


def test_partial_refunds_take_back_points_in_proportion(points, db):
    points.record_order(order(amount="1000"))  # 40 points
    half = points.refund_order(refund("ORD-1", "R1", "500"))
    assert (half["points_voided"], half["recovered"], half["balance"]) == (20, 20, 20)
    assert points.refund_order(refund("ORD-1", "R1", "500"))["replayed"] is True
    tenth = points.refund_order(refund("ORD-1", "R2", "100"))  # 400 left keeps 16
    assert (tenth["points_voided"], tenth["balance"]) == (4, 16)
    with pytest.raises(errors.Conflict) as caught:
        points.refund_order(refund("ORD-1", "R3", "400.01"))
    assert caught.value.code == "refund_exceeds_order"
    rest = points.refund_order(refund("ORD-1", "R3", "400"))
    assert (rest["points_voided"], rest["balance"]) == (16, 0)
    check_ledger(db)


def test_a_refund_of_an_unknown_order_is_not_found(points):
    with pytest.raises(errors.NotFound) as caught:
        points.refund_order(refund("NOPE", "R1", "10"))
    assert caught.value.code == "order_not_found"


def create_qr(points, amount="250", **extra):
    return points.create_qr({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "branch_id": str(BRANCH),
                             "amount": amount, "actor": staff(), **extra})


def claim(points, token, phone="0812345678", shop=SHOP):
    return points.claim_qr({"shop_id": str(shop), "token": token, "phone": phone})


def test_a_one_time_qr_gives_the_member_the_sales_points_once(points, db):
    qr = create_qr(points)
    result = claim(points, qr["token"])
    assert (result["points"], result["balance"], result["replayed"]) == (10, 10, False)
    assert claim(points, qr["token"])["replayed"] is True  # the member's app retried
    with pytest.raises(errors.Conflict) as caught:
        claim(points, qr["token"], phone="0899999999")
    assert caught.value.code == "qr_already_used"
    sale_row = db.execute("SELECT source FROM sales").fetchone()
    assert sale_row["source"] == "qr" and balance_of(points) == 10


def test_fifty_members_racing_for_one_qr_make_exactly_one_earn(points, config, db):
    qr = create_qr(points)

    def scan(i):
        with ServiceRpcProxy("points", config, timeout=30) as proxy:
            try:
                return proxy.claim_qr({"shop_id": str(SHOP), "token": qr["token"], "phone": f"08100000{i:02d}"})
            except errors.Conflict as exc:
                return exc.code

    outcomes = list(eventlet.GreenPool(50).imap(scan, range(50)))
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1 and outcomes.count("qr_already_used") == 49
    assert db.execute("SELECT count(*) AS n FROM entries").fetchone()["n"] == 1
    check_ledger(db)


def test_an_expired_qr_is_refused(points, monkeypatch):
    qr = create_qr(points)
    from points import ledger

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=11)
    monkeypatch.setattr(ledger, "now", lambda: later)
    with pytest.raises(errors.Conflict) as caught:
        claim(points, qr["token"])
    assert caught.value.code == "qr_expired"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace("Q1.", "Q1.0", 1),
    lambda t: "not a token",
])
def test_an_altered_qr_is_refused(points, tamper):
    qr = create_qr(points)
    with pytest.raises(errors.InvalidInput) as caught:
        claim(points, tamper(qr["token"]))
    assert caught.value.code == "qr_invalid"


def test_another_shops_qr_is_refused(points):
    qr = create_qr(points)
    with pytest.raises(errors.InvalidInput):
        claim(points, qr["token"], shop=uuid.uuid4())


def test_creating_a_qr_is_idempotent(points):
    request = {"idempotency_key": "qr-key-1", "shop_id": str(SHOP), "branch_id": str(BRANCH), "amount": "99",
               "actor": staff()}
    first = points.create_qr(request)
    again = points.create_qr(request)
    assert again["qr_id"] == first["qr_id"] and again["token"] == first["token"] and again["replayed"] is True


def printed(points, **extra):
    body = {"shop_id": str(SHOP), "branch_id": str(BRANCH), "enabled": True, "points": 3, "daily_limit": 2}
    return points.set_printed_qr({**body, **extra})


def scan_printed(points, token, phone="0812345678"):
    return points.claim_printed_qr({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "token": token,
                                    "phone": phone})


def test_a_printed_qr_gives_its_points_up_to_the_daily_limit_per_member(points, monkeypatch):
    token = printed(points)["token"]
    assert scan_printed(points, token)["balance"] == 3
    assert scan_printed(points, token)["balance"] == 6
    with pytest.raises(errors.Conflict) as caught:
        scan_printed(points, token)
    assert caught.value.code == "daily_limit_reached"
    assert scan_printed(points, token, phone="0899999999")["balance"] == 3  # another member
    from points import ledger

    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    monkeypatch.setattr(ledger, "now", lambda: tomorrow)
    assert scan_printed(points, token)["balance"] == 9


def test_a_disabled_printed_qr_gives_nothing(points):
    token = printed(points, enabled=False)["token"]
    with pytest.raises(errors.Conflict) as caught:
        scan_printed(points, token)
    assert caught.value.code == "printed_qr_disabled"


def test_printing_anew_makes_old_prints_worthless(points):
    old = printed(points)["token"]
    new = printed(points, regenerate=True)["token"]
    assert new != old
    with pytest.raises(errors.InvalidInput):
        scan_printed(points, old)
    assert scan_printed(points, new)["points"] == 3


def test_concurrent_scans_of_a_printed_qr_respect_the_daily_limit(points, config):
    token = printed(points, daily_limit=3)["token"]

    def scan(_):
        with ServiceRpcProxy("points", config, timeout=30) as proxy:
            try:
                scan_printed(proxy, token)
                return 1
            except errors.Conflict:
                return 0

    assert sum(eventlet.GreenPool(15).imap(scan, range(15))) == 3
    assert balance_of(points) == 9
