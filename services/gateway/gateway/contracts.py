"""HTTP request and response bodies (marshmallow). The OpenAPI document is made from these.

Requests refuse unknown fields. Responses list what clients may rely on;
values come from the services already serialised (ids and times as strings,
money as "125.50").
"""
from marshmallow import Schema, ValidationError, fields, validate

from chassis.fields import Money, Phone

NAME = validate.Length(min=1, max=200)
TIME = {"format": "date-time"}


class Error(Schema):
    code = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "field name -> reasons"})


class ErrorBody(Schema):
    error = fields.Nested(Error, required=True)


class EarnRuleBody(Schema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000),
                            metadata={"description": "points given for every `per_baht` of spend", "example": 1})
    per_baht = Money(required=True, minimum=1, maximum=1_000_000_00, metadata={"example": "25"})
    min_spend = Money(load_default=0, minimum=0, metadata={"description": "no points below this spend"})


class EarnRule(Schema):
    shop_id = fields.String()
    version = fields.Integer()
    points = fields.Integer()
    per_baht = fields.String(metadata={"format": "decimal"})
    min_spend = fields.String(metadata={"format": "decimal"})
    created_at = fields.String(metadata=TIME)


class CreateShopBody(Schema):
    name = fields.String(required=True, validate=NAME, metadata={"example": "Cafe Amazon"})
    timezone = fields.String(load_default="Asia/Bangkok", metadata={"example": "Asia/Bangkok"})
    earn_rule = fields.Nested(EarnRuleBody, required=True)


class Shop(Schema):
    shop_id = fields.String()
    name = fields.String()
    timezone = fields.String()
    status = fields.String()
    created_at = fields.String(metadata=TIME)


class ShopCreated(Schema):
    shop = fields.Nested(Shop)
    earn_rule = fields.Nested(EarnRule)
    admin_key_id = fields.String()
    admin_api_key = fields.String(metadata={"description": "shown once: store it now"})


class ShopView(Schema):
    shop = fields.Nested(Shop)
    earn_rule = fields.Nested(EarnRule, allow_none=True)


class BranchBody(Schema):
    name = fields.String(required=True, validate=NAME, metadata={"example": "Siam Square"})


class Branch(Schema):
    branch_id = fields.String()
    shop_id = fields.String()
    name = fields.String()
    created_at = fields.String(metadata=TIME)


class StaffBody(Schema):
    name = fields.String(required=True, validate=NAME)
    branch_id = fields.UUID(load_default=None, allow_none=True,
                            metadata={"description": "omit for a manager who acts for every branch"})


class Staff(Schema):
    staff_id = fields.String()
    shop_id = fields.String()
    branch_id = fields.String(allow_none=True)
    name = fields.String()
    created_at = fields.String(metadata=TIME)


class StaffCreated(Schema):
    staff = fields.Nested(Staff)
    key_id = fields.String()
    api_key = fields.String(metadata={"description": "shown once: store it now"})


class ApiKeyBody(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("internal_system", "shop_admin")))
    label = fields.String(load_default="", validate=validate.Length(max=200))


class ApiKeyInfo(Schema):
    key_id = fields.String()
    prefix = fields.String()
    role = fields.String()
    shop_id = fields.String()
    label = fields.String()
    created_at = fields.String(metadata=TIME)


class ApiKeyCreated(Schema):
    key = fields.Nested(ApiKeyInfo)
    api_key = fields.String(metadata={"description": "shown once: store it now"})


class SaleBody(Schema):
    phone = Phone(required=True, metadata={"example": "081-234-5678"})
    amount = Money(required=True, minimum=1, maximum=10_000_000_00,
                   metadata={"description": "spend in baht, at most 2 decimals", "example": "125.50"})
    receipt_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                               metadata={"description": "earns once per branch"})
    branch_id = fields.UUID(load_default=None, allow_none=True,
                            metadata={"description": "required unless the key is a branch's staff"})


class Sale(Schema):
    sale_id = fields.String()
    shop_id = fields.String()
    branch_id = fields.String()
    phone = fields.String(metadata={"description": "E.164", "example": "+66812345678"})
    amount = fields.String(metadata={"format": "decimal"})
    receipt_no = fields.String(allow_none=True)
    points = fields.Integer()
    balance = fields.Integer()
    entry_id = fields.Integer(allow_none=True)
    rule_version = fields.Integer()
    created_at = fields.String(metadata=TIME)


class Member(Schema):
    member_id = fields.String()
    status = fields.String(metadata={"description": "phone_only or registered"})
    lifetime_points = fields.Integer()
    sales_count = fields.Integer()
    spend = fields.String(metadata={"format": "decimal"})
    last_sale_at = fields.String(allow_none=True, metadata=TIME)
    created_at = fields.String(metadata=TIME)


class PointsView(Schema):
    balance = fields.Integer()


class MemberView(Schema):
    shop_id = fields.String()
    phone = fields.String()
    member = fields.Nested(Member, allow_none=True,
                           metadata={"description": "null for a moment after a first sale, until the members "
                                                    "service has recorded the phone"})
    points = fields.Nested(PointsView)


class ServiceHealth(Schema):
    status = fields.String()
    database = fields.String(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class Health(Schema):
    status = fields.String(metadata={"description": "up when every service answered"})
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceHealth))


def not_in_the_future(value):
    """A job run "as of" a time over HTTP may look back, never ahead: a cycle end or a purge
    run early would be recorded as done (or delete data before its time) for good. Tests and
    operators move time forward through the services' RPCs and command lines instead."""
    import datetime

    if value is not None and value > datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5):
        raise ValidationError("must not be in the future")
