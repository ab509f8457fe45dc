"""Requests of the rewards service's RPC (marshmallow): unknown fields refused, each bad one named."""
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Phone
from rewards import domain

ACTOR_TYPES = ("staff", "admin", "system", "internal_system", "member")
ISSUE_SOURCES = ("campaign", "stamp_card", "welcome", "admin")
DELIVERY_STATUSES = ("preparing", "shipped", "delivered", "cancelled")
KEY = validate.Length(min=1, max=200)
TEXT = validate.Length(min=1, max=500)
NAME = validate.Length(min=1, max=200)
MAX_BATCH = 1_000_000
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Keyed(Schema):
    idempotency_key = fields.String(required=True, validate=KEY)
    fingerprint = fields.String(load_default=None)


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class RewardRef(ShopRef):
    reward_id = fields.UUID(required=True)


class RewardTerms(Schema):
    """What an admin sets on a reward (all optional on an edit)."""

    name = fields.String(validate=NAME)
    description = fields.String(validate=validate.Length(max=4000))
    image_url = fields.Url(allow_none=True, schemes={"https", "http"})
    points_cost = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000_000))
    stock = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=100_000_000))
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_to = fields.AwareDateTime(allow_none=True)
    coupon_days = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=3650))
    per_member_limit = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=10_000))
    tiers = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=5))
    branch_ids = fields.List(fields.UUID(), validate=validate.Length(max=1000))
    visible = fields.Boolean()

    @validates_schema
    def _window(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end <= start:
            raise ValidationError("must be after valid_from", "valid_to")


class CreateReward(RewardTerms):
    shop_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(domain.KINDS))
    code_source = fields.String(load_default="generated", validate=validate.OneOf(("generated", "pool")))
    name = fields.String(required=True, validate=NAME)
    points_cost = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000_000))

    @validates_schema
    def _pool(self, data, **kwargs):
        if data.get("code_source") == "pool" and data.get("kind") != "code":
            raise ValidationError("only a code reward takes a pool of uploaded codes", "code_source")
        if data.get("code_source") == "pool" and data.get("stock") is not None:
            raise ValidationError("a pool reward's stock is its uploaded codes", "stock")


class UpdateReward(RewardTerms):
    shop_id = fields.UUID(required=True)
    reward_id = fields.UUID(required=True)


class ListRewards(ShopRef):
    include_archived = fields.Boolean(load_default=False)


class UploadCodes(RewardRef):
    codes = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                        validate=validate.Length(min=1, max=100_000))


class Address(Schema):
    name = fields.String(required=True, validate=NAME)
    phone = Phone(required=True)
    line1 = fields.String(required=True, validate=TEXT)
    line2 = fields.String(load_default=None, allow_none=True, validate=TEXT)
    district = fields.String(load_default=None, allow_none=True, validate=NAME)
    province = fields.String(required=True, validate=NAME)
    postcode = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$", error="5 digits"))


class Redeem(Keyed):
    shop_id = fields.UUID(required=True)
    reward_id = fields.UUID(required=True)
    phone = Phone(required=True)
    actor = fields.Nested(Actor, required=True)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    address = fields.Nested(Address, load_default=None, allow_none=True)


class RedemptionRef(ShopRef):
    redemption_id = fields.UUID(required=True)


class Available(ShopRef):
    phone = Phone(required=True)


class E164List(fields.Field):
    """A list of already normalised phones (E.164), up to a million: batches come from systems
    that hold them so. Checked with one regular expression per item (a field object per item
    costs seconds for a million); the first bad items are named by index."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("must be a list of phone numbers")
        if not 1 <= len(value) <= MAX_BATCH:
            raise ValidationError(f"must hold 1 to {MAX_BATCH} phone numbers")
        match = E164.fullmatch
        bad = {}
        for index, phone in enumerate(value):
            if not (isinstance(phone, str) and match(phone)):
                bad[index] = ["must be an E.164 phone number (+66812345678)"]
                if len(bad) == 10:
                    break
        if bad:
            raise ValidationError(bad)
        return value


class IssueCoupons(Keyed):
    """Coupons without points (campaigns, stamp cards, welcome coupons): one per phone."""

    shop_id = fields.UUID(required=True)
    reward_id = fields.UUID(required=True)
    phones = E164List(required=True)
    source = fields.String(required=True, validate=validate.OneOf(ISSUE_SOURCES))
    source_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    actor = fields.Nested(Actor, required=True)


class CouponRef(ShopRef):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class UseCoupon(CouponRef):
    branch_id = fields.UUID(required=True)
    actor = fields.Nested(Actor, required=True)


class UndoUse(CouponRef):
    branch_id = fields.UUID(load_default=None, allow_none=True)
    reason = fields.String(required=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)


class MoveDelivery(RedemptionRef):
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    carrier = fields.String(load_default=None, allow_none=True, validate=NAME)
    tracking_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default=None, allow_none=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)

    @validates_schema
    def _shipped(self, data, **kwargs):
        if data.get("status") == "shipped" and not (data.get("carrier") and data.get("tracking_no")):
            raise ValidationError("a shipped delivery needs a carrier and a tracking number", "tracking_no")
        if data.get("status") == "cancelled" and not data.get("reason"):
            raise ValidationError("a cancellation needs a reason", "reason")


class MemberCoupons(ShopRef):
    phone = Phone(required=True)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class Report(ShopRef):
    date_from = fields.Date(load_default=None, allow_none=True)
    date_to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("date_from"), data.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            if day is not None and not 2000 <= day.year <= 9998:
                raise ValidationError("must be a year between 2000 and 9998", name)
        if start and end and start > end:
            raise ValidationError("must not be before date_from", "date_to")


class AsOf(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)
    grace_seconds = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=86400))


# One instance of each request schema, made once (a schema per call costs more than the load).
CREATE_REWARD = CreateReward()
UPDATE_REWARD = UpdateReward()
REWARD_REF = RewardRef()
LIST_REWARDS = ListRewards()
UPLOAD_CODES = UploadCodes()
AVAILABLE = Available()
REDEEM = Redeem()
REDEMPTION_REF = RedemptionRef()
MOVE_DELIVERY = MoveDelivery()
ISSUE_COUPONS = IssueCoupons()
COUPON_REF = CouponRef()
USE_COUPON = UseCoupon()
UNDO_USE = UndoUse()
MEMBER_COUPONS = MemberCoupons()
REPORT = Report()
AS_OF = AsOf()
