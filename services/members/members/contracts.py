"""Requests, responses and event payloads of the members service (marshmallow).

Requests refuse unknown fields; event data read from other services ignores
them (tolerant reader).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates

from chassis.fields import Money, Phone, PhoneOrPseudonym
from chassis.inbox import EventData
from members import domain

NAME = validate.Length(min=1, max=200)


class Idempotent(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fingerprint = fields.String(load_default=None)


class CreateShop(Idempotent):
    name = fields.String(required=True, validate=NAME)
    timezone = fields.String(load_default=domain.DEFAULT_TIMEZONE)

    @validates("timezone")
    def _timezone(self, value, **kwargs):
        if not domain.is_timezone(value):
            raise ValidationError("not an IANA time zone (e.g. Asia/Bangkok)")


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class Shop(Schema):
    shop_id = fields.UUID()
    name = fields.String()
    timezone = fields.String()
    status = fields.String()
    created_at = fields.AwareDateTime()


class CreateShopResult(Schema):
    shop = fields.Nested(Shop)
    admin_key_id = fields.UUID()
    admin_api_key = fields.String()


class CreateBranch(Idempotent):
    shop_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=NAME)


class BranchRef(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)


class Branch(Schema):
    branch_id = fields.UUID()
    shop_id = fields.UUID()
    name = fields.String()
    created_at = fields.AwareDateTime()


class CreateStaff(Idempotent):
    shop_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=NAME)
    branch_id = fields.UUID(load_default=None, allow_none=True)


class Staff(Schema):
    staff_id = fields.UUID()
    shop_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    name = fields.String()
    created_at = fields.AwareDateTime()


class ApiKey(Schema):
    """An issued key as events and listings show it: never the key itself."""

    key_id = fields.UUID()
    prefix = fields.String()
    role = fields.String()
    shop_id = fields.UUID(allow_none=True)
    branch_id = fields.UUID(allow_none=True)
    staff_id = fields.UUID(allow_none=True)
    label = fields.String()
    created_at = fields.AwareDateTime()


class CreateStaffResult(Schema):
    staff = fields.Nested(Staff)
    key_id = fields.UUID()
    api_key = fields.String()


class CreateApiKey(Idempotent):
    shop_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(domain.ISSUABLE_ROLES))
    label = fields.String(load_default="", validate=validate.Length(max=200))


class CreateApiKeyResult(Schema):
    key = fields.Nested(ApiKey)
    api_key = fields.String()


class Authenticate(Schema):
    api_key = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Principal(Schema):
    key_id = fields.UUID()
    role = fields.String()
    shop_id = fields.UUID(allow_none=True)
    branch_id = fields.UUID(allow_none=True)
    staff_id = fields.UUID(allow_none=True)


class MemberByPhone(Schema):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)


class Member(Schema):
    member_id = fields.UUID()
    shop_id = fields.UUID()
    phone = fields.String()
    status = fields.String()
    name = fields.String(allow_none=True)
    line_user_id = fields.String(allow_none=True)
    tier = fields.String(allow_none=True, metadata={"description": "the name of the member's tier, or null"})
    lifetime_points = fields.Integer()
    points_balance = fields.Integer()
    sales_count = fields.Integer()
    spend = Money(attribute="spend_satang", minimum=0)
    last_sale_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


# --- events consumed -------------------------------------------------------

class SaleData(EventData):
    sale_id = fields.UUID(required=True)
    amount_satang = fields.Integer(required=True, validate=validate.Range(min=0))


class OrderData(EventData):
    order_id = fields.String(required=True)
    amount_satang = fields.Integer(required=True, validate=validate.Range(min=0))


class PointsEarnedData(EventData):
    phone = PhoneOrPseudonym(required=True)  # an erased member's events carry erased:<member_id>
    points = fields.Integer(required=True, validate=validate.Range(min=0))
    balance = fields.Integer(required=True, validate=validate.Range(min=0))
    balance_seq = fields.Integer(required=True)
    sale = fields.Nested(SaleData, load_default=None, allow_none=True)
    order = fields.Nested(OrderData, load_default=None, allow_none=True)


class PointsChangedData(EventData):
    """What members needs of points.redeemed, .voided, .adjusted and .expired: the new balance."""

    phone = PhoneOrPseudonym(required=True)  # an erased member's events carry erased:<member_id>
    balance = fields.Integer(required=True, validate=validate.Range(min=0))
    balance_seq = fields.Integer(required=True)
    points = fields.Integer(load_default=0)  # read of points.adjusted: a positive one is points received


class StampsGrantedData(EventData):
    """What members needs of stamps.granted: the phone (a stamp-only customer is a member too)."""

    phone = PhoneOrPseudonym(required=True)
    balance = fields.Integer(load_default=0)  # no points move: the running totals stay as they are
    balance_seq = fields.Integer(load_default=-1)


# Shared instances for the hot paths (a schema is stateless once built).
POINTS_EARNED_DATA = PointsEarnedData()
POINTS_CHANGED_DATA = PointsChangedData()
STAMPS_GRANTED_DATA = StampsGrantedData()
MEMBER_CREATED = Member(only=("member_id", "shop_id", "phone", "status", "created_at"))
AUTHENTICATE = Authenticate()
PRINCIPAL = Principal()
MEMBER_BY_PHONE = MemberByPhone()
MEMBER = Member()
