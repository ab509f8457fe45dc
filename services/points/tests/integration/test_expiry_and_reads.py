import datetime
import uuid

import pytest
from nameko.exceptions import ConfigurationError

from .conftest import BRANCH, OTHER_BRANCH, SHOP, balance_of, check_ledger, sale, spend_request

BKK = datetime.timezone(datetime.timedelta(hours=7))


def months(points, n):
    points.save_settings({"shop_id": str(SHOP), "expiry": {"mode": "months", "months": n}, "warn_days": 7})


def outbox_events(db, routing_key):
    return [r["envelope"] for r in db.execute(
        "SELECT envelope FROM outbox WHERE routing_key = %s ORDER BY id", (routing_key,))]


def test_points_expire_at_the_end_of_the_day_n_months_later_and_only_once(points, db):
    months(points, 1)
    points.earn(sale(amount="250"))  # 10 points, today (shop time)
    lot = db.execute("SELECT expires_at FROM lots").fetchone()["expires_at"].astimezone(BKK)
    assert (lot.hour, lot.minute, lot.second) == (23, 59, 59)
    before = lot - datetime.timedelta(minutes=1)
    assert points.run_expiry({"as_of": before.isoformat()})["accounts"] == 0
    after = lot + datetime.timedelta(seconds=1)
    assert points.run_expiry({"as_of": after.isoformat()}) == {"accounts": 1, "lots": 1, "points": 10}
    assert points.run_expiry({"as_of": after.isoformat()})["accounts"] == 0  # twice: nothing twice
    assert balance_of(points) == 0
    entry = db.execute("SELECT kind, points, balance_after FROM entries WHERE kind = 'expire'").fetchone()
    assert (entry["points"], entry["balance_after"]) == (-10, 0)
    [event] = outbox_events(db, "expired.v1")
    assert (event["data"]["points"], event["data"]["balance"], event["data"]["lots"]) == (-10, 0, 1)
    check_ledger(db)


def test_only_the_expired_part_of_a_partly_spent_balance_expires(points, db):
    points.earn(sale(amount="250"))  # 10, never expires
    months(points, 2)
    points.earn(sale(amount="125"))  # 5, expires in two months
    points.spend(spend_request(3))   # taken from the expiring lot first: 2 left there
    far = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=70)
    assert points.run_expiry({"as_of": far.isoformat()})["points"] == 2
    assert balance_of(points) == 10
    check_ledger(db)


def test_year_end_expiry_and_never(points, db):
    points.save_settings({"shop_id": str(SHOP), "expiry": {"mode": "year_end"}})
    points.earn(sale(amount="250"))
    lot = db.execute("SELECT expires_at FROM lots").fetchone()["expires_at"].astimezone(BKK)
    assert (lot.month, lot.day, lot.hour, lot.minute) == (12, 31, 23, 59)
    points.save_settings({"shop_id": str(SHOP), "expiry": {"mode": "never"}})
    points.earn(sale(amount="250"))
    assert db.execute("SELECT count(*) AS n FROM lots WHERE expires_at IS NULL").fetchone()["n"] == 1


def test_members_are_warned_once_before_points_expire(points, db):
    months(points, 1)
    points.earn(sale(amount="250"))
    expires = db.execute("SELECT expires_at FROM lots").fetchone()["expires_at"]
    too_early = expires - datetime.timedelta(days=8)
    assert points.run_expiry_warnings({"as_of": too_early.isoformat()})["accounts"] == 0
    in_window = expires - datetime.timedelta(days=6)
    assert points.run_expiry_warnings({"as_of": in_window.isoformat()}) == {"accounts": 1, "points": 10}
    assert points.run_expiry_warnings({"as_of": in_window.isoformat()})["accounts"] == 0
    [event] = outbox_events(db, "expiring_soon.v1")
    assert (event["data"]["points"], event["data"]["warn_days"], event["data"]["balance"]) == (10, 7, 10)


def test_history_pages_newest_first_with_filters(points):
    for amount in ("25", "50", "75", "100", "125"):
        points.earn(sale(amount=amount))
    points.spend(spend_request(2))
    ref = {"shop_id": str(SHOP), "phone": "0812345678"}
    page = points.history({**ref, "limit": 4})
    assert [e["kind"] for e in page["entries"]] == ["redeem", "earn", "earn", "earn"]
    rest = points.history({**ref, "limit": 4, "before": page["next_before"]})
    assert len(rest["entries"]) == 2 and rest["next_before"] is None
    earns = points.history({**ref, "kinds": ["earn"], "limit": 50})
    assert [e["points"] for e in earns["entries"]] == [5, 4, 3, 2, 1]
    assert points.history({**ref, "branch_id": str(OTHER_BRANCH)})["entries"] == []
    tomorrow = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).isoformat()
    assert points.history({**ref, "since": tomorrow})["entries"] == []


def test_lots_and_points_expiring_soon(points):
    points.earn(sale(amount="250"))
    months(points, 1)
    points.earn(sale(amount="125"))
    lots = points.lots({"shop_id": str(SHOP), "phone": "0812345678"})
    assert lots["balance"] == 15 and [lot["remaining"] for lot in lots["lots"]] == [5, 10]
    assert points.expiring({"shop_id": str(SHOP), "phone": "0812345678", "days": 40})["total"] == 5
    assert points.expiring({"shop_id": str(SHOP), "phone": "0812345678", "days": 3})["total"] == 0


def test_stats_count_by_shop_day_and_branch(points):
    points.earn(sale(amount="250"))
    points.earn(sale(amount="125", branch_id=str(OTHER_BRANCH)))
    points.spend(spend_request(4))
    today = datetime.datetime.now(BKK).date().isoformat()
    shop = points.stats({"shop_id": str(SHOP), "since": today, "until": today})["days"]
    assert len(shop) == 1
    day = shop[0]
    assert (day["issued"], day["redeemed"], day["net"], day["outstanding"]) == (15, 4, 11, 11)
    branch = points.stats({"shop_id": str(SHOP), "since": today, "until": today, "branch_id": str(BRANCH)})["days"]
    assert (branch[0]["issued"], branch[0]["outstanding"]) == (10, None)


def test_reconciliation_finds_no_drift(points):
    points.earn(sale(amount="250"))
    points.spend(spend_request(3))
    assert points.reconcile() == {"accounts": 1, "drift": []}


def test_reconciliation_reports_drift_when_someone_bypasses_the_ledger(points, db):
    points.earn(sale(amount="250"))
    db.execute("UPDATE lots SET remaining = remaining - 1")  # a lot edited by hand
    drift = points.reconcile()["drift"]
    assert len(drift) == 1 and (drift[0]["balance"], drift[0]["lots_total"]) == (10, 9)


def test_the_service_does_not_start_without_a_qr_secret(container_factory, config, members):
    from points.service import PointsService

    container = container_factory(PointsService, {**config, "QR_SECRET": ""})
    with pytest.raises(ConfigurationError):
        container.start()


def test_settings_refuse_bad_expiry(points):
    from chassis import errors

    for expiry in ({"mode": "months"}, {"mode": "months", "months": 25}, {"mode": "weekly"},
                   {"mode": "never", "months": 3}):
        with pytest.raises(errors.InvalidInput) as caught:
            points.save_settings({"shop_id": str(SHOP), "expiry": expiry})
        assert any(k.startswith("expiry") for k in caught.value.fields)
    with pytest.raises(errors.NotFound):
        points.save_settings({"shop_id": str(uuid.uuid4()), "expiry": {"mode": "never"}})
