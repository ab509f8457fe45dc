import datetime
import uuid
import zoneinfo

import pytest

from rewards import domain

BKK = zoneinfo.ZoneInfo("Asia/Bangkok")
NOW = datetime.datetime(2026, 11, 27, 3, 0, tzinfo=datetime.UTC)
SHOP, BRANCH = uuid.uuid4(), uuid.uuid4()


def reward(**over):
    return {"status": "active", "visible": True, "valid_from": None, "valid_to": None, "stock_left": None,
            "per_member_limit": None, "tiers": [], "points_cost": 100, **over}


def coupon(**over):
    return {"shop_id": SHOP, "kind": "in_store", "status": "issued", "expires_at": None, "branch_ids": [], **over}


@pytest.mark.parametrize("current,wanted,ok", [
    ("requested", "preparing", True), ("requested", "cancelled", True), ("preparing", "shipped", True),
    ("preparing", "cancelled", True), ("shipped", "delivered", True), ("requested", "shipped", False),
    ("shipped", "cancelled", False), ("delivered", "cancelled", False), ("cancelled", "preparing", False),
    ("preparing", "preparing", False)])
def test_the_delivery_state_machine(current, wanted, ok):
    assert (domain.delivery_move_refused(current, wanted) is None) is ok


def test_a_coupon_lasts_until_the_end_of_its_last_day_in_the_shop_time_zone():
    issued = datetime.datetime(2026, 11, 27, 20, 0, tzinfo=datetime.UTC)  # 28 Nov 03:00 in Bangkok
    expires = domain.coupon_expiry(issued, 30, None, BKK)
    assert expires.astimezone(BKK).replace(microsecond=0) == datetime.datetime(2026, 12, 28, 23, 59, 59, tzinfo=BKK)


def test_a_coupon_never_outlives_its_reward_and_may_never_expire():
    end = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    assert domain.coupon_expiry(NOW, 30, end, BKK) == end
    assert domain.coupon_expiry(NOW, None, None, BKK) is None


def test_why_a_member_cannot_redeem():
    assert domain.why_not(reward(), NOW, balance=100) == []
    assert domain.why_not(reward(), NOW, balance=99) == ["insufficient_points"]
    assert domain.why_not(reward(stock_left=0, per_member_limit=1, tiers=["Gold"]), NOW, taken=1, tier="Basic") == [
        "out_of_stock", "limit_reached", "tier_not_allowed"]
    assert domain.why_not(reward(valid_from=NOW + datetime.timedelta(days=1)), NOW) == ["not_started"]
    assert domain.why_not(reward(valid_to=NOW), NOW) == ["ended"]
    assert domain.why_not(reward(visible=False, status="archived"), NOW) == ["archived", "hidden"]
    assert domain.why_not(reward(visible=False), NOW, as_member=False) == []


def test_when_staff_may_use_a_coupon():
    assert domain.use_refused(coupon(), SHOP, str(BRANCH), NOW) is None
    assert domain.use_refused(coupon(), uuid.uuid4(), str(BRANCH), NOW) == "coupon_other_shop"
    assert domain.use_refused(coupon(status="used"), SHOP, str(BRANCH), NOW) == "coupon_already_used"
    assert domain.use_refused(coupon(expires_at=NOW), SHOP, str(BRANCH), NOW) == "coupon_expired"
    assert domain.use_refused(coupon(branch_ids=[uuid.uuid4()]), SHOP, str(BRANCH), NOW) == "coupon_not_usable_here"
    assert domain.use_refused(coupon(branch_ids=[BRANCH]), SHOP, str(BRANCH), NOW) is None
    assert domain.use_refused(coupon(kind="delivery"), SHOP, str(BRANCH), NOW) == "coupon_not_in_store"
