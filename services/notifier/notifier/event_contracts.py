"""Payloads of the events the notifier consumes and publishes (docs/events.md)."""
from marshmallow import Schema, fields

from chassis.inbox import EventData


class PointsEarned(EventData):
    phone = fields.String(required=True)
    points = fields.Integer(required=True)
    balance = fields.Integer(required=True)


class PointsExpiring(EventData):
    phone = fields.String(required=True)
    points = fields.Integer(required=True)
    expires_at = fields.AwareDateTime(required=True)


class CouponData(EventData):
    phone = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True, allow_none=True)


class IssuedCoupon(EventData):
    coupon_id = fields.String(required=True)
    code = fields.String(required=True)
    phone = fields.String(required=True)


class CouponsIssued(EventData):
    name = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    coupons = fields.List(fields.Nested(IssuedCoupon), required=True)


class DeliveryChanged(EventData):
    phone = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    carrier = fields.String(load_default=None, allow_none=True)
    tracking_no = fields.String(load_default=None, allow_none=True)


class TierChanged(EventData):
    """members.tier_changed v1 (issue #4's contract): from, to, reason."""

    phone = fields.String(required=True)
    to = fields.String(required=True, allow_none=True)
    previous = fields.String(load_default=None, allow_none=True, data_key="from")
    reason = fields.String(load_default=None, allow_none=True)


class Message(Schema):
    """notifier.message_sent / notifier.message_failed v1."""

    message_id = fields.UUID()
    phone = fields.String()
    trigger = fields.String()
    kind = fields.String()
    campaign_id = fields.String(allow_none=True)
    channel = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    provider_id = fields.String(allow_none=True)
    sms_parts = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


MESSAGE = Message()
