"""Business rules of rewards and coupons, without I/O (unit-tested on their own)."""
import datetime

KINDS = ("in_store", "delivery", "code")
# Delivery of a delivery reward: each status and where it may go next.
DELIVERY_NEXT = {
    "requested": {"preparing", "cancelled"},
    "preparing": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}


def delivery_move_refused(current, wanted):
    """None when `current` -> `wanted` is allowed, else the reason."""
    if current == wanted:
        return f"the delivery is already {current}"
    if wanted not in DELIVERY_NEXT.get(current, set()):
        allowed = ", ".join(sorted(DELIVERY_NEXT.get(current, set()))) or "nothing (it is final)"
        return f"a {current} delivery can become {allowed}, not {wanted}"
    return None


def coupon_expiry(issued_at, coupon_days, valid_to, tz):
    """When a coupon issued at `issued_at` expires: `coupon_days` days later at the end of
    that day in the shop's time zone, never after the reward's end (`valid_to`); None: never."""
    ends = []
    if coupon_days:
        local_day = issued_at.astimezone(tz).date() + datetime.timedelta(days=coupon_days)
        end_of_day = datetime.datetime.combine(local_day, datetime.time(23, 59, 59, 999999), tz)
        ends.append(end_of_day.astimezone(datetime.UTC))
    if valid_to is not None:
        ends.append(valid_to)
    return min(ends) if ends else None


def why_not(reward, now, *, balance=None, tier=None, taken=0, as_member=True):
    """Why the member cannot redeem `reward` now: a list of reason codes (empty: they can)."""
    reasons = []
    if reward["status"] != "active":
        reasons.append("archived")
    if as_member and not reward["visible"]:
        reasons.append("hidden")
    if reward["valid_from"] is not None and now < reward["valid_from"]:
        reasons.append("not_started")
    if reward["valid_to"] is not None and now >= reward["valid_to"]:
        reasons.append("ended")
    if reward["stock_left"] is not None and reward["stock_left"] <= 0:
        reasons.append("out_of_stock")
    if reward["per_member_limit"] is not None and taken >= reward["per_member_limit"]:
        reasons.append("limit_reached")
    if reward["tiers"] and tier not in reward["tiers"]:
        reasons.append("tier_not_allowed")
    if balance is not None and balance < reward["points_cost"]:
        reasons.append("insufficient_points")
    return reasons


def use_refused(coupon, shop_id, branch_id, now):
    """None when staff of `branch_id` in `shop_id` may mark `coupon` used now, else an error code."""
    if str(coupon["shop_id"]) != str(shop_id):
        return "coupon_other_shop"
    if coupon["kind"] == "delivery":
        return "coupon_not_in_store"
    if coupon["status"] == "used":
        return "coupon_already_used"
    if coupon["status"] == "cancelled":
        return "coupon_cancelled"
    if coupon["status"] == "expired" or (coupon["expires_at"] is not None and coupon["expires_at"] <= now):
        return "coupon_expired"
    if coupon["branch_ids"] and branch_id not in {str(b) for b in coupon["branch_ids"]}:
        return "coupon_not_usable_here"
    return None
