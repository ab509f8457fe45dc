"""Payloads of the events the rewards service publishes and consumes (see docs/events.md)."""
from marshmallow import Schema, fields

from chassis.inbox import EventData
from rewards.contracts import Actor


class ShopCreatedData(EventData):
    """members.shop_created v1 (consumed): the shop and its time zone."""

    shop_id = fields.UUID(required=True)
    timezone = fields.String(required=True)


class Reward(Schema):
    """rewards.reward_created / rewards.reward_updated v1: the reward's terms after the change."""

    reward_id = fields.UUID()
    kind = fields.String()
    code_source = fields.String()
    name = fields.String()
    description = fields.String()
    image_url = fields.String(allow_none=True)
    points_cost = fields.Integer()
    stock_total = fields.Integer(allow_none=True)
    stock_left = fields.Integer(allow_none=True)
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_to = fields.AwareDateTime(allow_none=True)
    coupon_days = fields.Integer(allow_none=True)
    per_member_limit = fields.Integer(allow_none=True)
    tiers = fields.List(fields.String())
    branch_ids = fields.List(fields.UUID())
    visible = fields.Boolean()
    status = fields.String()
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class Coupon(Schema):
    """rewards.coupon_issued / coupon_used / coupon_use_undone / coupon_expired /
    coupon_expiring_soon v1: the coupon after the change."""

    coupon_id = fields.UUID()
    code = fields.String()
    reward_id = fields.UUID()
    reward_version = fields.Integer()
    kind = fields.String()
    name = fields.String()
    branch_ids = fields.List(fields.UUID())
    phone = fields.String()
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    redemption_id = fields.UUID(allow_none=True)
    points_cost = fields.Integer()
    external_code = fields.String(allow_none=True)
    status = fields.String()
    delivery = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    issued_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    used_at = fields.AwareDateTime(allow_none=True)
    used_branch_id = fields.UUID(allow_none=True)
    used_by = fields.String(allow_none=True)
    expired_at = fields.AwareDateTime(allow_none=True)


class IssuedCoupon(Schema):
    coupon_id = fields.UUID()
    code = fields.String()
    phone = fields.String()
    external_code = fields.String(allow_none=True)


class CouponsIssued(Schema):
    """rewards.coupons_issued v1: coupons given through the issue RPC (a campaign, a stamp
    card, a welcome), up to 1,000 per event; what they share, and each one's own fields."""

    reward_id = fields.UUID()
    reward_version = fields.Integer()
    kind = fields.String()
    name = fields.String()
    branch_ids = fields.List(fields.UUID())
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    points_cost = fields.Integer()
    issued_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    coupons = fields.List(fields.Nested(IssuedCoupon))


class CouponChange(Coupon):
    actor = fields.Nested(Actor, allow_none=True)
    reason = fields.String(allow_none=True)


class Redeemed(Schema):
    """rewards.redeemed v1: a redemption completed (points spent, coupon issued)."""

    redemption_id = fields.UUID()
    reward_id = fields.UUID()
    phone = fields.String()
    points = fields.Integer()
    coupon_id = fields.UUID()
    code = fields.String()
    branch_id = fields.UUID(allow_none=True)
    actor = fields.Nested(Actor)


class RedemptionFailed(Schema):
    """rewards.redemption_failed v1: a redemption undone (stock released, points not taken or given back)."""

    redemption_id = fields.UUID()
    reward_id = fields.UUID()
    phone = fields.String()
    points = fields.Integer()
    failure_code = fields.String()
    failure_message = fields.String()


class DeliveryChanged(Schema):
    """rewards.delivery_status_changed v1: a delivery reward moved from one status to another."""

    redemption_id = fields.UUID()
    coupon_id = fields.UUID()
    reward_id = fields.UUID()
    phone = fields.String()
    name = fields.String()
    previous = fields.String(allow_none=True)
    status = fields.String()
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    actor = fields.Nested(Actor, allow_none=True)


SHOP_CREATED_DATA = ShopCreatedData()
REWARD = Reward()
COUPON = Coupon()
COUPON_CHANGE = CouponChange()
COUPONS_ISSUED = CouponsIssued()
REDEEMED = Redeemed()
REDEMPTION_FAILED = RedemptionFailed()
DELIVERY_CHANGED = DeliveryChanged()
