"""HTTP bodies, query strings and responses of the stamp card routes (marshmallow)."""
from marshmallow import Schema, fields, validate

from chassis.fields import Money, Phone

TIME = {"format": "date-time"}
MAX_FILL = 50


class StampTicket(Schema):
    at = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_FILL),
                        metadata={"description": "the stamp count that earns this ticket", "example": 10})
    reward_id = fields.UUID(required=True, metadata={"description": "an active in-store or code reward"})


class StampRule(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("per_visit", "per_amount")))
    stamps = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=MAX_FILL),
                            metadata={"description": "per_visit: stamps per purchase"})
    per_baht = Money(load_default=None, allow_none=True, minimum=1, maximum=1_000_000_00,
                     metadata={"description": "per_amount: one stamp per whole amount spent", "example": "100"})


class StampValidity(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("none", "date", "days")))
    until = fields.Date(load_default=None, allow_none=True, metadata={"description": "date: the last valid day"})
    days = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=3650),
                          metadata={"description": "days: valid N days after a member's first stamp"})


def _design_fields(required):
    req = {"required": True} if required else {}
    return {
        "name": fields.String(validate=validate.Length(min=1, max=100), **req),
        "stamps_to_fill": fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_FILL), **req),
        "rule": fields.Nested(StampRule, **req),
        "tickets": fields.List(fields.Nested(StampTicket), validate=validate.Length(min=1, max=MAX_FILL), **req),
        "welcome_stamps": fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_FILL)),
        "max_per_purchase": fields.Integer(strict=True, validate=validate.Range(min=1, max=500)),
        "terms": fields.String(allow_none=True, validate=validate.Length(max=5000)),
        "validity": fields.Nested(StampValidity),
    }


CardBody = Schema.from_dict(_design_fields(True), name="StampCardBody")
CardEditBody = Schema.from_dict(_design_fields(False), name="StampCardEditBody")


class StampSuspendBody(Schema):
    confirm = fields.Boolean(required=True, metadata={
        "description": "must be true: suspending cannot be undone and resets every member's stamps"})


class StampCard(Schema):
    card_id = fields.String()
    status = fields.String(metadata={"description": "draft, active, suspended or deleted"})
    name = fields.String()
    stamps_to_fill = fields.Integer()
    rule = fields.Dict()
    tickets = fields.List(fields.Dict())
    welcome_stamps = fields.Integer()
    max_per_purchase = fields.Integer()
    terms = fields.String(allow_none=True)
    validity = fields.Dict()
    version = fields.Integer()
    created_at = fields.String(metadata=TIME)
    activated_at = fields.String(allow_none=True, metadata=TIME)
    suspended_at = fields.String(allow_none=True, metadata=TIME)
    new_card_from = fields.String(allow_none=True, metadata=TIME)


class StampCards(Schema):
    cards = fields.List(fields.Nested(StampCard))


class StampListQuery(Schema):
    include_deleted = fields.Boolean(load_default=False)


class StampQrBody(Schema):
    amount = Money(load_default=None, allow_none=True, minimum=1, maximum=10_000_000_00,
                   metadata={"description": "the purchase (needed when the card gives stamps per amount)"})
    branch_id = fields.UUID(load_default=None, allow_none=True)


class StampQr(Schema):
    qr_id = fields.String()
    card_id = fields.String()
    branch_id = fields.String()
    stamps = fields.Integer()
    token = fields.String(metadata={"description": "what the QR code carries"})
    scan_url = fields.String()
    image_png = fields.String()
    image_svg = fields.String()
    expires_at = fields.String(metadata=TIME)
    claimed = fields.Boolean()


class StampImageQuery(Schema):
    format = fields.String(load_default="png", validate=validate.OneOf(("png", "svg")))


class PrintedStampQrBody(Schema):
    enabled = fields.Boolean(required=True)
    stamps = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=10))
    daily_limit = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100),
                                 metadata={"description": "scans that give stamps, per member per shop day"})
    regenerate = fields.Boolean(load_default=False, metadata={"description": "make earlier prints worthless"})


class PrintedStampQr(Schema):
    branch_id = fields.String()
    enabled = fields.Boolean()
    stamps = fields.Integer()
    daily_limit = fields.Integer()
    generation = fields.Integer()
    scan_url = fields.String()
    image_png = fields.String()
    image_svg = fields.String()


class StampScanBody(Schema):
    phone = Phone(required=True, metadata={"example": "081-234-5678"})
    token = fields.String(required=True, validate=validate.Length(min=1, max=300),
                          metadata={"description": "the token of the scanned stamp QR code"})


class StampGrant(Schema):
    entry_id = fields.Integer()
    card_id = fields.String()
    phone = fields.String()
    stamps = fields.Integer()
    welcome_stamps = fields.Integer()
    stamps_after = fields.Integer(metadata={"description": "stamps on the member's current card"})
    stamps_to_fill = fields.Integer()
    card_no = fields.Integer(metadata={"description": "the member's current card: 1, 2 after one filled..."})
    cards_filled = fields.Integer()
    tickets = fields.List(fields.Dict())


class StampVoidBody(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class StampVoidResult(Schema):
    void_entry_id = fields.Integer()
    entry_id = fields.Integer()
    phone = fields.String()
    requested = fields.Integer()
    recovered = fields.Integer()
    unrecovered = fields.Integer(metadata={"description": "stamps of a card already filled or gone"})
    stamps_after = fields.Integer()
    reason = fields.String()


class StampHistoryQuery(Schema):
    before = fields.Integer(load_default=None, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class MemberStampsView(Schema):
    phone = fields.String()
    cards = fields.List(fields.Dict())
    entries = fields.List(fields.Dict())
    tickets = fields.List(fields.Dict())
    next_before = fields.Integer(allow_none=True)


class StampStatsQuery(Schema):
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    branch_id = fields.UUID(load_default=None)
    live = fields.Boolean(load_default=False, metadata={"description": "include today, up to now"})


class StampStats(Schema):
    timezone = fields.String()
    since = fields.String()
    until = fields.String()
    live = fields.Boolean()
    as_of = fields.String(metadata=TIME)
    rows = fields.List(fields.Dict(), metadata={
        "description": "per shop day and branch: cards_issued, stamps_given, stamps_voided, tickets_issued, "
                       "tickets_used"})
    totals = fields.Dict()
