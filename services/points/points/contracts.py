"""Requests and responses of the points service's RPC (marshmallow).

Requests refuse unknown fields and name each bad one. Published and consumed
event payloads are in `event_contracts.py`.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Money, Phone
from points import domain

ACTOR_TYPES = ("staff", "admin", "system", "internal_system", "member")
CREDIT_SOURCES = ("admin", "import", "campaign", "welcome", "system")
ENTRY_KINDS = ("earn", "welcome", "redeem", "expire", "adjust", "void")
MAX_SPEND_SATANG = 10_000_000_00  # 10 million baht in one sale
MAX_POINTS = 100_000_000
KEY = validate.Length(min=1, max=200)
TEXT = validate.Length(min=1, max=500)


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Keyed(Schema):
    """A value-creating request: the caller's key, and the fingerprint the edge made (if any)."""

    idempotency_key = fields.String(required=True, validate=KEY)
    fingerprint = fields.String(load_default=None)


class Earn(Keyed):
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
    branch_id = fields.UUID(load_default=None, allow_none=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    per_baht = Money(required=True, minimum=1, maximum=1_000_000_00)
    min_spend = Money(load_default=0, minimum=0, maximum=MAX_SPEND_SATANG)


class BranchRef(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)


class EarnRule(Schema):
    shop_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    version = fields.Integer()
    points = fields.Integer()
    per_baht = Money(attribute="unit_satang")
    min_spend = Money(attribute="min_spend_satang", minimum=0)
    removed = fields.Boolean()
    created_at = fields.AwareDateTime()


class Expiry(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(domain.EXPIRY_MODES))
    months = fields.Integer(load_default=None, allow_none=True, strict=True,
                            validate=validate.Range(min=1, max=domain.MAX_EXPIRY_MONTHS))

    @validates_schema
    def _months_with_mode(self, data, **kwargs):
        if (data["mode"] == "months") != (data.get("months") is not None):
            raise ValidationError("give months (1-24) exactly when mode is 'months'", "months")


class SaveSettings(Schema):
    shop_id = fields.UUID(required=True)
    expiry = fields.Nested(Expiry, load_default=lambda: {"mode": "never", "months": None})
    warn_days = fields.Integer(load_default=30, strict=True, validate=validate.Range(min=1, max=90))
    welcome_points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1_000_000))
    qr_minutes = fields.Integer(load_default=10, strict=True, validate=validate.Range(min=1, max=1440))


class Settings(Schema):
    shop_id = fields.UUID()
    timezone = fields.String()
    expiry = fields.Nested(Expiry)
    warn_days = fields.Integer()
    welcome_points = fields.Integer()
    qr_minutes = fields.Integer()


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class AccountRef(Schema):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)


class Balance(Schema):
    shop_id = fields.UUID()
    phone = fields.String()
    balance = fields.Integer()
    balance_seq = fields.Integer(attribute="entry_seq")


class Credit(Keyed):
    """Points given outside a sale: welcome points, an admin's adjustment (+ or -), an import, a campaign."""

    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=-MAX_POINTS, max=MAX_POINTS))
    kind = fields.String(load_default="adjust", validate=validate.OneOf(("adjust", "welcome")))
    source = fields.String(required=True, validate=validate.OneOf(CREDIT_SOURCES))
    reason = fields.String(required=True, validate=TEXT)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    actor = fields.Nested(Actor, required=True)

    @validates_schema
    def _points(self, data, **kwargs):
        if data["points"] == 0:
            raise ValidationError("must not be 0", "points")
        if data["kind"] == "welcome" and data["points"] < 0:
            raise ValidationError("welcome points are positive", "points")


class Spend(Keyed):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_POINTS))
    reason = fields.String(required=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)


class RefundSpend(Schema):
    shop_id = fields.UUID(required=True)
    spend_key = fields.String(required=True, validate=KEY)
    reason = fields.String(required=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)
    cancel_if_absent = fields.Boolean(load_default=False)  # never spent: cancel the key instead


class Void(Keyed):
    """Void a sale (sale_id) or any credit entry (entry_id): exactly one of them."""

    shop_id = fields.UUID(required=True)
    sale_id = fields.UUID(load_default=None, allow_none=True)
    entry_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)
    at_branch = fields.UUID(load_default=None, allow_none=True)  # a branch's staff void only there

    @validates_schema
    def _one_target(self, data, **kwargs):
        if (data.get("sale_id") is None) == (data.get("entry_id") is None):
            raise ValidationError("give exactly one of sale_id and entry_id", "sale_id")


class RecordOrder(Keyed):
    shop_id = fields.UUID(required=True)
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = Phone(required=True)
    amount = Money(required=True, minimum=1, maximum=MAX_SPEND_SATANG)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    actor = fields.Nested(Actor, required=True)


class RefundOrder(Keyed):
    shop_id = fields.UUID(required=True)
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    refund_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    amount = Money(required=True, minimum=1, maximum=MAX_SPEND_SATANG)
    actor = fields.Nested(Actor, required=True)


class CreateQr(Keyed):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)
    amount = Money(required=True, minimum=1, maximum=MAX_SPEND_SATANG)
    receipt_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    actor = fields.Nested(Actor, required=True)


class QrRef(Schema):
    shop_id = fields.UUID(required=True)
    qr_id = fields.UUID(required=True)


class ClaimQr(Schema):
    shop_id = fields.UUID(required=True)
    token = fields.String(required=True, validate=validate.Length(min=1, max=300))
    phone = Phone(required=True)


class SetPrintedQr(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)
    enabled = fields.Boolean(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10000))
    daily_limit = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100))
    regenerate = fields.Boolean(load_default=False)


class ClaimPrintedQr(Keyed):
    shop_id = fields.UUID(required=True)
    token = fields.String(required=True, validate=validate.Length(min=1, max=300))
    phone = Phone(required=True)


class History(AccountRef):
    kinds = fields.List(fields.String(validate=validate.OneOf(ENTRY_KINDS)), load_default=None)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    since = fields.AwareDateTime(load_default=None, allow_none=True)
    until = fields.AwareDateTime(load_default=None, allow_none=True)
    before = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class Expiring(AccountRef):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))


class Stats(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    since = fields.Date(required=True)
    until = fields.Date(required=True)

    @validates_schema
    def _range(self, data, **kwargs):
        if data["until"] < data["since"]:
            raise ValidationError("must not be before since", "until")
        if (data["until"] - data["since"]).days > 366:
            raise ValidationError("at most 366 days at a time", "until")


class AsOf(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


# Schemas are stateless once built; the hot paths share these instances.
EARN = Earn()
EARN_RESULT = EarnResult()
ACCOUNT_REF = AccountRef()
BALANCE = Balance()


# --- what reads return ----------------------------------------------------------

class HistoryEntry(Schema):
    entry_id = fields.Integer()
    kind = fields.String()
    points = fields.Integer()
    balance_after = fields.Integer()
    branch_id = fields.UUID(allow_none=True)
    sale_id = fields.UUID(allow_none=True)
    source = fields.String()
    actor_type = fields.String()
    actor_id = fields.String(allow_none=True)
    rule_version = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    ref = fields.String(allow_none=True)
    ref_entry_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class Lot(Schema):
    lot_id = fields.Integer()
    entry_id = fields.Integer()
    points = fields.Integer()
    remaining = fields.Integer()
    expires_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class ExpiringDay(Schema):
    day = fields.Date()
    points = fields.Integer()
    expires_at = fields.AwareDateTime()


class StatsDay(Schema):
    day = fields.Date()
    issued = fields.Integer()
    redeemed = fields.Integer()
    expired = fields.Integer()
    voided = fields.Integer()
    adjusted_down = fields.Integer()
    net = fields.Integer()
    outstanding = fields.Integer(allow_none=True)


HISTORY = History()
HISTORY_ENTRIES = HistoryEntry(many=True)
