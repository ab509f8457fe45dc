"""Requests, responses and event payloads of the points service (marshmallow)."""
from marshmallow import Schema, fields, validate

from chassis.fields import Money, Phone
from chassis.inbox import EventData

ACTOR_TYPES = ("staff", "admin", "system", "internal_system", "member")
MAX_SPEND_SATANG = 10_000_000_00  # 10 million baht in one sale


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Earn(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fingerprint = fields.String(load_default=None)
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)
    phone = Phone(required=True)
    amount = Money(required=True, minimum=1, maximum=MAX_SPEND_SATANG)
    receipt_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    actor = fields.Nested(Actor, required=True)


class EarnResult(Schema):
    sale_id = fields.UUID()
    shop_id = fields.UUID()
    branch_id = fields.UUID()
    phone = fields.String()
    amount = Money(attribute="amount_satang")
    receipt_no = fields.String(allow_none=True)
    points = fields.Integer()
    balance = fields.Integer()
    entry_id = fields.Integer(allow_none=True)
    rule_version = fields.Integer()
    created_at = fields.AwareDateTime()


class SetEarnRule(Schema):
    shop_id = fields.UUID(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    per_baht = Money(required=True, minimum=1, maximum=1_000_000_00)
    min_spend = Money(load_default=0, minimum=0, maximum=MAX_SPEND_SATANG)


class EarnRule(Schema):
    shop_id = fields.UUID()
    version = fields.Integer()
    points = fields.Integer()
    per_baht = Money(attribute="unit_satang")
    min_spend = Money(attribute="min_spend_satang", minimum=0)
    created_at = fields.AwareDateTime()


class AccountRef(Schema):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)


class Balance(Schema):
    shop_id = fields.UUID()
    phone = fields.String()
    balance = fields.Integer()
    balance_seq = fields.Integer(attribute="entry_seq")


# --- events published --------------------------------------------------------

class Sale(Schema):
    sale_id = fields.UUID()
    amount_satang = fields.Integer()
    receipt_no = fields.String(allow_none=True)


class PointsEarned(Schema):
    """points.earned v1: a sale was recorded and earned `points` (possibly 0)."""

    entry_id = fields.Integer(allow_none=True)
    phone = fields.String()
    branch_id = fields.UUID()
    points = fields.Integer()
    balance = fields.Integer()
    balance_seq = fields.Integer()
    rule_version = fields.Integer()
    source = fields.String()
    actor = fields.Nested(Actor)
    sale = fields.Nested(Sale)


# --- events consumed ---------------------------------------------------------

class ShopCreatedData(EventData):
    shop_id = fields.UUID(required=True)
    timezone = fields.String(required=True)


class BranchCreatedData(EventData):
    branch_id = fields.UUID(required=True)
    shop_id = fields.UUID(required=True)


# Schemas are stateless once built; building one costs more than using it, so
# the hot paths share these instances.
EARN = Earn()
EARN_RESULT = EarnResult()
POINTS_EARNED = PointsEarned()
ACCOUNT_REF = AccountRef()
BALANCE = Balance()
