"""HTTP bodies, query strings and responses of the points routes (marshmallow)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Money, Phone

TIME = {"format": "date-time"}
DECIMAL = {"format": "decimal"}
REASON = validate.Length(min=1, max=500)
ENTRY_KINDS = ("earn", "welcome", "redeem", "expire", "adjust", "void")


class VoidBody(Schema):
    reason = fields.String(required=True, validate=REASON, metadata={"example": "customer returned the goods"})


class VoidResult(Schema):
    void_id = fields.String()
    target_entry_id = fields.Integer()
    phone = fields.String()
    requested = fields.Integer(metadata={"description": "points the credit gave"})
    recovered = fields.Integer(metadata={"description": "points taken back"})
    unrecovered = fields.Integer(metadata={"description": "points already spent: could not be taken back"})
    balance = fields.Integer()
    entry_id = fields.Integer(allow_none=True)


class AdjustmentBody(Schema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=-100_000_000, max=100_000_000),
                            metadata={"description": "positive adds, negative removes (never below 0)"})
    reason = fields.String(required=True, validate=REASON)
    branch_id = fields.UUID(load_default=None, allow_none=True)

    @validates_schema
    def _not_zero(self, data, **kwargs):
        if data["points"] == 0:
            raise ValidationError("must not be 0", "points")


class Adjustment(Schema):
    entry_id = fields.Integer()
    phone = fields.String()
    points = fields.Integer()
    balance = fields.Integer()
    expires_at = fields.String(allow_none=True, metadata=TIME)


class HistoryQuery(Schema):
    list_fields = ("kind",)
    kind = fields.List(fields.String(validate=validate.OneOf(ENTRY_KINDS)), load_default=None,
                       metadata={"description": "repeat to ask for several kinds"})
    branch_id = fields.UUID(load_default=None)
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)
    before = fields.Integer(load_default=None, validate=validate.Range(min=1),
                            metadata={"description": "next_before of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HistoryEntry(Schema):
    entry_id = fields.Integer()
    kind = fields.String()
    points = fields.Integer()
    balance_after = fields.Integer()
    branch_id = fields.String(allow_none=True)
    sale_id = fields.String(allow_none=True)
    source = fields.String()
    actor_type = fields.String()
    actor_id = fields.String(allow_none=True)
    rule_version = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    ref = fields.String(allow_none=True)
    ref_entry_id = fields.Integer(allow_none=True)
    created_at = fields.String(metadata=TIME)


class HistoryPage(Schema):
    entries = fields.List(fields.Nested(HistoryEntry))
    next_before = fields.Integer(allow_none=True)


class Lot(Schema):
    lot_id = fields.Integer()
    entry_id = fields.Integer()
    points = fields.Integer()
    remaining = fields.Integer()
    expires_at = fields.String(allow_none=True, metadata=TIME)
    created_at = fields.String(metadata=TIME)


class LotsView(Schema):
    balance = fields.Integer()
    lots = fields.List(fields.Nested(Lot), metadata={"description": "in the order they are spent"})


class ExpiringQuery(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))


class ExpiringDay(Schema):
    day = fields.String(metadata={"format": "date"})
    points = fields.Integer()
    expires_at = fields.String(metadata=TIME)


class ExpiringView(Schema):
    total = fields.Integer()
    days = fields.List(fields.Nested(ExpiringDay))


class StatsQuery(Schema):
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    branch_id = fields.UUID(load_default=None)


class StatsDay(Schema):
    day = fields.String(metadata={"format": "date"})
    issued = fields.Integer()
    redeemed = fields.Integer()
    expired = fields.Integer()
    voided = fields.Integer()
    adjusted_down = fields.Integer()
    net = fields.Integer()
    outstanding = fields.Integer(allow_none=True, metadata={"description": "whole shop only"})


class StatsView(Schema):
    days = fields.List(fields.Nested(StatsDay))


class ExpiryBody(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("months", "year_end", "never")))
    months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=24))


class SettingsBody(Schema):
    expiry = fields.Nested(ExpiryBody, required=True)
    warn_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=90))
    welcome_points = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    qr_minutes = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1440))


class Settings(Schema):
    shop_id = fields.String()
    timezone = fields.String()
    expiry = fields.Nested(ExpiryBody)
    warn_days = fields.Integer()
    welcome_points = fields.Integer()
    qr_minutes = fields.Integer()


class OrderBody(Schema):
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = Phone(required=True)
    amount = Money(required=True, minimum=1, maximum=10_000_000_00, metadata={"example": "1299.00"})
    branch_id = fields.UUID(load_default=None, allow_none=True)


class Order(Schema):
    order_id = fields.String()
    phone = fields.String()
    amount = fields.Function(lambda o: f"{o['amount_satang'] / 100:.2f}", metadata=DECIMAL)
    points = fields.Integer()
    balance = fields.Integer()
    entry_id = fields.Integer(allow_none=True)
    refunded = fields.Function(lambda o: f"{o['refunded_satang'] / 100:.2f}", metadata=DECIMAL)
    voided_points = fields.Integer()
    created_at = fields.String(metadata=TIME)


class RefundBody(Schema):
    refund_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    amount = Money(required=True, minimum=1, maximum=10_000_000_00)


class Refund(Schema):
    order_id = fields.String()
    refund_id = fields.String()
    amount = fields.Function(lambda r: f"{r['amount_satang'] / 100:.2f}", metadata=DECIMAL)
    points_voided = fields.Integer()
    recovered = fields.Integer()
    unrecovered = fields.Integer()
    balance = fields.Integer()


class QrBody(Schema):
    amount = Money(required=True, minimum=1, maximum=10_000_000_00)
    receipt_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    branch_id = fields.UUID(load_default=None, allow_none=True)


class Qr(Schema):
    qr_id = fields.String()
    branch_id = fields.String()
    amount = fields.Function(lambda q: f"{q['amount_satang'] / 100:.2f}", metadata=DECIMAL)
    token = fields.String(metadata={"description": "what the QR code carries"})
    scan_url = fields.String(metadata={"description": "the URL in the QR code (member page)"})
    image_png = fields.String(metadata={"description": "path of the PNG image"})
    image_svg = fields.String(metadata={"description": "path of the SVG image"})
    expires_at = fields.String(metadata=TIME)
    claimed = fields.Boolean()


class ImageQuery(Schema):
    format = fields.String(load_default="png", validate=validate.OneOf(("png", "svg")))


class PrintedQrBody(Schema):
    enabled = fields.Boolean(required=True)
    points = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    daily_limit = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100),
                                 metadata={"description": "scans that give points, per member per shop day"})
    regenerate = fields.Boolean(load_default=False, metadata={"description": "make earlier prints worthless"})


class PrintedQr(Schema):
    branch_id = fields.String()
    enabled = fields.Boolean()
    points = fields.Integer()
    daily_limit = fields.Integer()
    generation = fields.Integer()
    scan_url = fields.String()
    image_png = fields.String()
    image_svg = fields.String()
