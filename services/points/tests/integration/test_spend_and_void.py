import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import errors

from .conftest import (
    SHOP,
    balance_of,
    check_ledger,
    credit_request,
    sale,
    spend_request,
    void_request,
)


def test_a_spend_takes_points_and_a_replay_takes_them_once(points, db):
    points.earn(sale(amount="250"))  # 10 points
    request = spend_request(4)
    first = points.spend(request)
    again = points.spend(request)
    assert (first["balance"], first["replayed"], again["replayed"]) == (6, False, True)
    assert again["entry_id"] == first["entry_id"] and balance_of(points) == 6
    check_ledger(db)


def test_a_spend_writes_its_entry_lots_spend_and_event_together(points, db):
    points.earn(sale(amount="100", receipt_no="R-a"))  # 4
    points.earn(sale(amount="150", receipt_no="R-b"))  # 6
    result = points.spend(spend_request(7))
    entry = db.execute("SELECT * FROM entries WHERE entry_id = %s", (result["entry_id"],)).fetchone()
    assert (entry["kind"], entry["points"], entry["balance_after"]) == ("redeem", -7, 3)
    moves = db.execute("SELECT sum(points) AS n FROM lot_moves WHERE entry_id = %s", (result["entry_id"],)).fetchone()
    assert moves["n"] == -7
    spend = db.execute("SELECT * FROM spends").fetchone()
    assert (spend["entry_id"], spend["points"]) == (result["entry_id"], 7)
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'redeemed.v1'").fetchone()["envelope"]
    data = event["data"]
    assert (data["entry_id"], data["points"], data["balance"], data["balance_seq"]) == (
        result["entry_id"], -7, 3, entry["account_seq"])
    assert data["spend_key"] == spend["spend_key"] and data["kind"] == "redeem"
    check_ledger(db)


def test_a_spend_larger_than_the_balance_is_refused_and_changes_nothing(points, db):
    points.earn(sale(amount="100"))  # 4
    with pytest.raises(errors.Conflict) as caught:
        points.spend(spend_request(5))
    assert caught.value.code == "insufficient_points" and "points" in caught.value.fields
    assert balance_of(points) == 4
    assert db.execute("SELECT count(*) AS n FROM spends").fetchone()["n"] == 0


def test_spending_from_a_phone_without_points_is_not_found(points):
    with pytest.raises(errors.NotFound) as caught:
        points.spend(spend_request(1, phone="0899999999"))
    assert caught.value.code == "account_not_found"


def test_twenty_concurrent_spends_never_overdraw(points, config, db):
    points.earn(sale(amount="250"))  # 10 points

    def spend(_):
        with ServiceRpcProxy("points", config, timeout=20) as proxy:
            try:
                return proxy.spend(spend_request(3))["points"]
            except errors.Conflict:
                return 0

    spent = sum(eventlet.GreenPool(20).imap(spend, range(20)))
    assert spent == 9 and balance_of(points) == 1
    check_ledger(db)


def test_points_are_spent_from_the_lot_that_expires_soonest(points, db):
    points.earn(sale(amount="100"))  # lot A: 4, never expires (policy: never)
    points.save_settings({"shop_id": str(SHOP), "expiry": {"mode": "months", "months": 1}})
    points.earn(sale(amount="100"))  # lot B: 4, expires in a month
    points.spend(spend_request(5))
    lots = {row["remaining"] for row in db.execute("SELECT remaining, expires_at FROM lots WHERE expires_at IS NULL")}
    assert lots == {3}  # B (4) went first, then 1 of A
    check_ledger(db)


def test_a_refunded_spend_gives_the_points_back_to_their_lots_once(points, db):
    points.earn(sale(amount="250"))
    request = spend_request(7)
    points.spend(request)
    refund = {"shop_id": str(SHOP), "spend_key": request["idempotency_key"], "reason": "reward cancelled",
              "actor": {"type": "system", "id": "rewards"}}
    first = points.refund_spend(refund)
    again = points.refund_spend(refund)
    assert (first["balance"], again["replayed"], balance_of(points)) == (10, True, 10)
    assert db.execute("SELECT remaining FROM lots").fetchone()["remaining"] == 10
    with pytest.raises(errors.NotFound):
        points.refund_spend({**refund, "spend_key": "never-spent"})
    check_ledger(db)


def test_a_voided_sale_takes_its_points_back_once(points, db):
    earned = points.earn(sale(amount="250"))
    result = points.void(void_request(sale_id=earned["sale_id"]))
    assert (result["requested"], result["recovered"], result["unrecovered"], result["balance"]) == (10, 10, 0, 0)
    with pytest.raises(errors.Conflict) as caught:
        points.void(void_request(sale_id=earned["sale_id"]))
    assert caught.value.code == "already_voided"
    entry = db.execute("SELECT * FROM entries WHERE kind = 'void'").fetchone()
    assert entry["ref_entry_id"] == earned["entry_id"] and entry["reason"] == "customer returned the goods"
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'voided.v1'").fetchone()["envelope"]
    credit = db.execute("SELECT created_at FROM entries WHERE entry_id = %s", (earned["entry_id"],)).fetchone()
    assert event["data"]["target_at"] == credit["created_at"].isoformat()  # tiers take it off that day
    check_ledger(db)


def test_voiding_points_already_spent_reports_what_could_not_be_taken_back(points, db):
    first = points.earn(sale(amount="250"))   # 10
    points.earn(sale(amount="125"))           # 5
    points.spend(spend_request(12))           # 3 left
    result = points.void(void_request(sale_id=first["sale_id"]))
    assert (result["recovered"], result["unrecovered"], result["balance"]) == (3, 7, 0)
    row = db.execute("SELECT requested, recovered, unrecovered FROM voids").fetchone()
    assert (row["requested"], row["recovered"], row["unrecovered"]) == (10, 3, 7)
    check_ledger(db)


def test_a_void_with_nothing_left_is_recorded_without_an_entry(points, db):
    earned = points.earn(sale(amount="250"))
    points.spend(spend_request(10))
    result = points.void(void_request(sale_id=earned["sale_id"]))
    assert (result["recovered"], result["unrecovered"], result["entry_id"]) == (0, 10, None)
    assert db.execute("SELECT count(*) AS n FROM voids").fetchone()["n"] == 1


def test_a_void_of_a_void_and_of_a_spend_are_refused(points, db):
    earned = points.earn(sale(amount="250"))
    void = points.void(void_request(sale_id=earned["sale_id"]))
    with pytest.raises(errors.Conflict) as caught:
        points.void(void_request(entry_id=void["entry_id"]))
    assert caught.value.code == "not_voidable"
    points.earn(sale(amount="250"))
    spent = points.spend(spend_request(2))
    with pytest.raises(errors.Conflict):
        points.void(void_request(entry_id=spent["entry_id"]))


def test_a_void_in_another_shop_or_of_nothing_is_refused(points):
    earned = points.earn(sale(amount="250"))
    with pytest.raises(errors.NotFound):
        points.void({**void_request(sale_id=earned["sale_id"]), "shop_id": str(uuid.uuid4())})
    with pytest.raises(errors.NotFound):
        points.void(void_request(sale_id=str(uuid.uuid4())))
    zero = points.earn(sale(amount="10"))
    with pytest.raises(errors.Conflict) as caught:
        points.void(void_request(sale_id=zero["sale_id"]))
    assert caught.value.code == "nothing_to_void"
    with pytest.raises(errors.InvalidInput):
        points.void(void_request(sale_id=earned["sale_id"], entry_id=1))
    with pytest.raises(errors.InvalidInput) as caught:
        points.void({**void_request(sale_id=earned["sale_id"]), "reason": ""})
    assert "reason" in caught.value.fields


def test_two_concurrent_voids_of_one_sale_take_back_once(points, config, db):
    earned = points.earn(sale(amount="250"))

    def void(_):
        with ServiceRpcProxy("points", config, timeout=20) as proxy:
            try:
                return proxy.void(void_request(sale_id=earned["sale_id"]))["recovered"]
            except errors.Conflict:
                return 0

    assert sorted(eventlet.GreenPool(10).imap(void, range(10))) == [0] * 9 + [10]
    check_ledger(db)


def test_an_admin_adjusts_up_and_down_with_a_reason_but_never_below_zero(points, db):
    up = points.credit(credit_request(50))
    assert (up["points"], up["balance"]) == (50, 50)
    down = points.credit(credit_request(-20))
    assert down["balance"] == 30
    with pytest.raises(errors.Conflict) as caught:
        points.credit(credit_request(-31))
    assert caught.value.code == "insufficient_points"
    with pytest.raises(errors.InvalidInput) as caught:
        points.credit(credit_request(0))
    assert "points" in caught.value.fields
    kinds = [r["kind"] for r in db.execute("SELECT kind FROM entries ORDER BY entry_id")]
    assert kinds == ["adjust", "adjust"]
    check_ledger(db)


def test_welcome_points_are_an_earned_credit(points, db):
    welcome = points.credit(credit_request(100, kind="welcome", source="welcome", phone="0800000001"))
    assert welcome["balance"] == 100
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'earned.v1'").fetchone()["envelope"]
    assert (event["data"]["kind"], event["data"]["source"], event["data"]["points"]) == ("welcome", "welcome", 100)


def test_a_branchs_staff_void_only_sales_of_their_branch(points):
    from .conftest import OTHER_BRANCH

    earned = points.earn(sale(amount="250"))
    with pytest.raises(errors.Forbidden) as caught:
        points.void(void_request(sale_id=earned["sale_id"], at_branch=str(OTHER_BRANCH)))
    assert caught.value.code == "wrong_branch"


def test_a_spend_cancelled_before_it_arrived_is_refused_when_it_does(points, db):
    points.earn(sale(amount="250"))
    request = spend_request(4)
    cancel = {"shop_id": str(SHOP), "spend_key": request["idempotency_key"], "reason": "redemption timed out",
              "actor": {"type": "system", "id": "rewards"}, "cancel_if_absent": True}
    first = points.refund_spend(cancel)
    assert (first["cancelled"], first["points"]) == (True, 0)
    with pytest.raises(errors.Conflict) as caught:
        points.spend(request)
    assert caught.value.code == "spend_cancelled"
    assert points.refund_spend(cancel)["cancelled"] is True  # settled the same way again
    assert balance_of(points) == 10
    check_ledger(db)


def test_cancel_if_absent_refunds_a_spend_that_was_made(points, db):
    points.earn(sale(amount="250"))
    request = spend_request(4)
    points.spend(request)
    cancel = {"shop_id": str(SHOP), "spend_key": request["idempotency_key"], "reason": "redemption failed",
              "actor": {"type": "system", "id": "rewards"}, "cancel_if_absent": True}
    refund = points.refund_spend(cancel)
    assert (refund["cancelled"], refund["points"], refund["balance"]) == (False, 4, 10)
    assert points.spend(request)["replayed"] is True  # the spend itself still replays
    assert balance_of(points) == 10
    check_ledger(db)
