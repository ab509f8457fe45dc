"""Payloads of the events the points service publishes and consumes (see docs/events.md).

Every published event carries the member's new balance and the position of the
account's latest entry (`balance_seq`, only grows).
"""
from marshmallow import Schema, fields

from chassis.fields import Phone
from chassis.inbox import EventData
from points.contracts import Actor


class Sale(Schema):
    sale_id = fields.UUID()
    amount_satang = fields.Integer()
    receipt_no = fields.String(allow_none=True)


class Order(Schema):
    order_id = fields.String()
    amount_satang = fields.Integer()


class LedgerEvent(Schema):
    entry_id = fields.Integer(allow_none=True)
    phone = fields.String()
    points = fields.Integer()
    balance = fields.Integer()
    balance_seq = fields.Integer()
    kind = fields.String()
    source = fields.String()
    branch_id = fields.UUID(allow_none=True)
    actor = fields.Nested(Actor, allow_none=True)
    reason = fields.String(allow_none=True)


class PointsEarned(LedgerEvent):
    """points.earned v1: a sale, an order, a QR scan or a welcome credited `points` (possibly 0)."""

    rule_version = fields.Integer(allow_none=True)
    expires_at = fields.AwareDateTime(allow_none=True)
    sale = fields.Nested(Sale, allow_none=True)
    order = fields.Nested(Order, allow_none=True)


class PointsAdjusted(LedgerEvent):
    """points.adjusted v1: an admin, an import or a campaign added (or removed) points."""

    expires_at = fields.AwareDateTime(allow_none=True)


class PointsRedeemed(LedgerEvent):
    """points.redeemed v1: points spent on a reward."""

    spend_key = fields.String()


class PointsVoided(LedgerEvent):
    """points.voided v1: a credit taken back (void, order refund) or a spend given back."""

    target_entry_id = fields.Integer()
    target_kind = fields.String()
    requested = fields.Integer()
    recovered = fields.Integer()
    unrecovered = fields.Integer()
    void_id = fields.UUID(allow_none=True)
    target_at = fields.AwareDateTime(metadata={"description": "when the credit taken back was made"})


class PointsExpired(Schema):
    """points.expired v1: lots past their date, expired in one entry per account."""

    entry_id = fields.Integer()
    phone = fields.String()
    points = fields.Integer()
    balance = fields.Integer()
    balance_seq = fields.Integer()
    lots = fields.Integer()
    as_of = fields.AwareDateTime()


class PointsExpiringSoon(Schema):
    """points.expiring_soon v1: points of an account that expire within the shop's warning days."""

    phone = fields.String()
    points = fields.Integer()
    expires_at = fields.AwareDateTime()
    balance = fields.Integer()
    warn_days = fields.Integer()


class EarnRuleChanged(Schema):
    shop_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    version = fields.Integer()
    points = fields.Integer()
    per_baht = fields.String()
    min_spend = fields.String()
    removed = fields.Boolean()
    created_at = fields.AwareDateTime()


# --- consumed ------------------------------------------------------------------

class ShopCreatedData(EventData):
    shop_id = fields.UUID(required=True)
    timezone = fields.String(required=True)


class BranchCreatedData(EventData):
    branch_id = fields.UUID(required=True)
    shop_id = fields.UUID(required=True)


POINTS_EARNED = PointsEarned()
POINTS_ADJUSTED = PointsAdjusted()
POINTS_REDEEMED = PointsRedeemed()
POINTS_VOIDED = PointsVoided()


class MemberRegisteredData(EventData):
    """members.registered v1, as far as welcome points need it."""

    member_id = fields.UUID(required=True)
    phone = Phone(required=True)
