"""HTTP bodies, query strings and responses of the rewards routes (marshmallow)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Phone

TIME = {"format": "date-time"}
NAME = validate.Length(min=1, max=200)
REASON = validate.Length(min=1, max=500)
KINDS = ("in_store", "delivery", "code")


class RewardTermsBody(Schema):
    name = fields.String(validate=NAME)
    description = fields.String(validate=validate.Length(max=4000))
    image_url = fields.Url(allow_none=True, schemes={"https", "http"})
    points_cost = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000_000))
    stock = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=100_000_000),
                           metadata={"description": "null: unlimited"})
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_to = fields.AwareDateTime(allow_none=True)
    coupon_days = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=3650),
                                 metadata={"description": "a coupon is valid this many days after issue"})
    per_member_limit = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=10_000))
    tiers = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=5),
                        metadata={"description": "tier names allowed; empty: every member"})
    branch_ids = fields.List(fields.UUID(), validate=validate.Length(max=1000),
                             metadata={"description": "branches where the coupon is used; empty: all"})
    visible = fields.Boolean(metadata={"description": "listed on the member page"})

    @validates_schema
    def _window(self, data, **kwargs):
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] <= data["valid_from"]:
            raise ValidationError("must be after valid_from", "valid_to")


class CreateRewardBody(RewardTermsBody):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    code_source = fields.String(load_default="generated", validate=validate.OneOf(("generated", "pool")))
    name = fields.String(required=True, validate=NAME)
    points_cost = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000_000))


class Reward(Schema):
    reward_id = fields.String()
    kind = fields.String()
    code_source = fields.String()
    name = fields.String()
    description = fields.String()
    image_url = fields.String(allow_none=True)
    points_cost = fields.Integer()
    stock_total = fields.Integer(allow_none=True)
    stock_left = fields.Integer(allow_none=True)
    valid_from = fields.String(allow_none=True, metadata=TIME)
    valid_to = fields.String(allow_none=True, metadata=TIME)
    coupon_days = fields.Integer(allow_none=True)
    per_member_limit = fields.Integer(allow_none=True)
    tiers = fields.List(fields.String())
    branch_ids = fields.List(fields.String())
    visible = fields.Boolean()
    status = fields.String()
    version = fields.Integer()


class RewardList(Schema):
    rewards = fields.List(fields.Nested(Reward))


class ListQuery(Schema):
    include_archived = fields.Boolean(load_default=False)


class Offer(Reward):
    redeemable = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why not: archived, not_started, ended, "
                                                                    "out_of_stock, limit_reached, tier_not_allowed, "
                                                                    "insufficient_points"})


class MemberPage(Schema):
    phone = fields.String()
    balance = fields.Integer()
    tier = fields.String(allow_none=True)
    rewards = fields.List(fields.Nested(Offer))


class CodesBody(Schema):
    codes = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                        validate=validate.Length(min=1, max=100_000))


class CodesAdded(Schema):
    added = fields.Integer()
    duplicates = fields.Integer()
    stock_left = fields.Integer()


class Address(Schema):
    name = fields.String(required=True, validate=NAME)
    phone = Phone(required=True)
    line1 = fields.String(required=True, validate=REASON)
    line2 = fields.String(load_default=None, allow_none=True, validate=REASON)
    district = fields.String(load_default=None, allow_none=True, validate=NAME)
    province = fields.String(required=True, validate=NAME)
    postcode = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$", error="5 digits"))


class RedeemBody(Schema):
    reward_id = fields.UUID(required=True)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    address = fields.Nested(Address, load_default=None, allow_none=True,
                            metadata={"description": "required for a delivery reward"})


class HistoryItem(Schema):
    action = fields.String()
    branch_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict(allow_none=True)
    at = fields.String(metadata=TIME)


class Coupon(Schema):
    coupon_id = fields.String()
    code = fields.String()
    display_code = fields.String(metadata={"description": "XXXX-XXXXX, as people read and type it"})
    reward_id = fields.String()
    name = fields.String()
    kind = fields.String()
    phone = fields.String()
    source = fields.String()
    redemption_id = fields.String(allow_none=True)
    points_cost = fields.Integer()
    external_code = fields.String(allow_none=True, metadata={"description": "the shop's own code (pool rewards)"})
    branch_ids = fields.List(fields.String())
    status = fields.String(metadata={"description": "issued, used, expired, cancelled"})
    delivery = fields.String(allow_none=True, metadata={"description": "requested, preparing, shipped, delivered, "
                                                                       "cancelled (delivery rewards)"})
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    issued_at = fields.String(metadata=TIME)
    expires_at = fields.String(allow_none=True, metadata=TIME)
    used_at = fields.String(allow_none=True, metadata=TIME)
    used_branch_id = fields.String(allow_none=True)


class CouponDetail(Coupon):
    history = fields.List(fields.Nested(HistoryItem))
    points_refunded = fields.Boolean(allow_none=True)
    image_png = fields.String()
    image_svg = fields.String()


class CouponList(Schema):
    phone = fields.String()
    coupons = fields.List(fields.Nested(Coupon))


class Failure(Schema):
    code = fields.String()
    message = fields.String()


class Redemption(Schema):
    redemption_id = fields.String()
    state = fields.String(metadata={"description": "completed, or reserved/compensating/failed"})
    reward_id = fields.String()
    phone = fields.String()
    points = fields.Integer()
    created_at = fields.String(metadata=TIME)
    coupon = fields.Nested(Coupon, allow_none=True)
    address = fields.Dict(allow_none=True)
    failure = fields.Nested(Failure, allow_none=True)
    refund = fields.String(allow_none=True)


class UseBody(Schema):
    branch_id = fields.UUID(load_default=None, allow_none=True,
                            metadata={"description": "required for admin keys; staff use their own branch"})


class UndoBody(Schema):
    reason = fields.String(required=True, validate=REASON, metadata={"example": "scanned the wrong coupon"})


class DeliveryBody(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("preparing", "shipped", "delivered", "cancelled")))
    carrier = fields.String(load_default=None, allow_none=True, validate=NAME)
    tracking_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default=None, allow_none=True, validate=REASON)


class IssueBody(Schema):
    reward_id = fields.UUID(required=True)
    phones = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "E.164 phone numbers; one coupon each"})
    source = fields.String(required=True, validate=validate.OneOf(("campaign", "stamp_card", "welcome", "admin")))
    source_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class IssuedCoupon(Schema):
    coupon_id = fields.String()
    code = fields.String()
    phone = fields.String()
    external_code = fields.String(allow_none=True)


class Issued(Schema):
    issued = fields.Integer()
    reward_id = fields.String()
    expires_at = fields.String(allow_none=True, metadata=TIME)
    coupons = fields.List(fields.Nested(IssuedCoupon), metadata={"description": "listed up to 100"})


class ReportQuery(Schema):
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class ReportRow(Schema):
    reward_id = fields.String()
    reward_name = fields.String()
    branch_id = fields.String(allow_none=True)
    redeemed = fields.Integer()
    used = fields.Integer()
    expired = fields.Integer()
    points_spent = fields.Integer()


class Report(Schema):
    rows = fields.List(fields.Nested(ReportRow))
