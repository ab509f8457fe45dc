"""Errors of the rewards service: chassis error kinds with rewards' codes (the RPC contract)."""
from chassis.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound, Unavailable  # noqa: F401


def shop_not_found(shop_id):
    return NotFound("shop_not_found", f"shop {shop_id} does not exist", {"shop_id": ["unknown shop"]})


def reward_not_found(reward_id):
    return NotFound("reward_not_found", f"no reward {reward_id} in this shop", {"reward_id": ["unknown"]})


def redemption_not_found(redemption_id):
    return NotFound("redemption_not_found", f"no redemption {redemption_id} in this shop",
                    {"redemption_id": ["unknown"]})


def coupon_not_found():
    return NotFound("coupon_not_found", "no coupon with this code in this shop", {"code": ["unknown"]})


def idempotency_key_reused():
    return Conflict("idempotency_key_reused", "this idempotency key was already used for a different request",
                    {"idempotency_key": ["already used with a different request body"]})


NOT_REDEEMABLE = {
    "archived": "this reward was archived",
    "hidden": "this reward is not offered on the member page",
    "not_started": "this reward cannot be redeemed yet",
    "ended": "this reward has ended",
    "out_of_stock": "this reward is out of stock",
    "limit_reached": "this member already redeemed this reward as often as allowed",
    "tier_not_allowed": "this reward is for other tiers",
    "insufficient_points": "the member does not have enough points",
}


def not_redeemable(reason):
    return Conflict(reason, NOT_REDEEMABLE[reason], {"reward_id": [NOT_REDEEMABLE[reason]]})


def redemption_failed(code, message):
    """A redemption that was undone: the same answer for the first call and its replays."""
    if code in NOT_REDEEMABLE:
        return not_redeemable(code)
    if code == "account_not_found":
        return NotFound(code, message, {"phone": ["has no points in this shop"]})
    return Conflict(code, message, {"reward_id": [message]})


def redemption_pending():
    return Unavailable("redemption_pending",
                       "the points service did not answer; this redemption will be finished or undone shortly")


def address_required():
    return InvalidInput("address_required", "a delivery reward needs the member's address",
                        {"address": ["required for a delivery reward"]})


def not_for_kind(field, kind):
    return InvalidInput("not_for_kind", f"{field} does not apply to a {kind} reward", {field: [f"not for {kind}"]})


COUPON_REFUSALS = {
    "coupon_other_shop": (Forbidden, "this coupon belongs to another shop"),
    "coupon_not_in_store": (Conflict, "a delivery coupon is not used at a counter"),
    "coupon_already_used": (Conflict, "this coupon was already used"),
    "coupon_cancelled": (Conflict, "this coupon was cancelled"),
    "coupon_expired": (Conflict, "this coupon has expired"),
    "coupon_not_usable_here": (Forbidden, "this coupon cannot be used at this branch"),
}


def coupon_refused(code):
    kind, message = COUPON_REFUSALS[code]
    return kind(code, message, {"code": [message]})


def bad_code(code, reason):
    return InvalidInput(code, reason, {"code": [reason]})


def undo_too_late(minutes):
    return Conflict("undo_too_late", f"a use can be undone within {minutes} minutes", {"code": ["too late to undo"]})


def not_used():
    return Conflict("coupon_not_used", "this coupon is not used; there is nothing to undo", {"code": ["not used"]})


def not_a_delivery():
    return Conflict("not_a_delivery", "this redemption is not a delivery reward", {"redemption_id": ["not a delivery"]})


def delivery_move(reason):
    return Conflict("delivery_status_refused", reason, {"status": [reason]})


def pool_only(reward_id):
    return Conflict("not_a_pool_reward", f"reward {reward_id} does not take uploaded codes",
                    {"reward_id": ["codes are uploaded only for a code reward with code_source pool"]})
