"""Requests, responses and event payloads of stamp cards (marshmallow). Requests refuse
unknown fields and name each bad one; events are documented in docs/_pending/stamps.md."""
import datetime
import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Money, Phone
from chassis.inbox import EventData
from points.contracts import Actor, Keyed

MAX_FILL = 50
TEXT = validate.Length(min=1, max=500)


class Ticket(Schema):
    at = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_FILL))
    reward_id = fields.UUID(required=True)


class Rule(Schema):
    """per_visit: `stamps` per purchase; per_amount: one stamp per whole `per_baht` spent."""

    mode = fields.String(required=True, validate=validate.OneOf(("per_visit", "per_amount")))
    stamps = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=MAX_FILL))
    per_baht = Money(load_default=None, allow_none=True, minimum=1, maximum=1_000_000_00)

    @validates_schema
    def _per_baht_with_mode(self, data, **kwargs):
        if (data["mode"] == "per_amount") != (data.get("per_baht") is not None):
            raise ValidationError("give per_baht exactly when mode is 'per_amount'", "per_baht")


class Validity(Schema):
    """none; date: the card's last valid day (shop time); days: N days after a member's first stamp."""

    mode = fields.String(required=True, validate=validate.OneOf(("none", "date", "days")))
    until = fields.Date(load_default=None, allow_none=True)
    days = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=3650))

    @validates_schema
    def _value_with_mode(self, data, **kwargs):
        if (data["mode"] == "date") != (data.get("until") is not None):
            raise ValidationError("give until (a date) exactly when mode is 'date'", "until")
        if (data["mode"] == "days") != (data.get("days") is not None):
            raise ValidationError("give days exactly when mode is 'days'", "days")


class Design(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    stamps_to_fill = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_FILL))
    rule = fields.Nested(Rule, required=True)
    tickets = fields.List(fields.Nested(Ticket), required=True, validate=validate.Length(min=1, max=MAX_FILL))
    welcome_stamps = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=MAX_FILL))
    max_per_purchase = fields.Integer(load_default=MAX_FILL, strict=True, validate=validate.Range(min=1, max=500))
    terms = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    validity = fields.Nested(Validity, load_default=lambda: {"mode": "none", "until": None, "days": None})


class CreateCard(Keyed, Design):
    shop_id = fields.UUID(required=True)
    actor = fields.Nested(Actor, required=True)


class UpdateCard(Schema):
    """Only the fields given change. An active card takes only `validity`."""

    shop_id = fields.UUID(required=True)
    card_id = fields.UUID(required=True)
    actor = fields.Nested(Actor, required=True)
    name = fields.String(validate=validate.Length(min=1, max=100))
    stamps_to_fill = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_FILL))
    rule = fields.Nested(Rule)
    tickets = fields.List(fields.Nested(Ticket), validate=validate.Length(min=1, max=MAX_FILL))
    welcome_stamps = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_FILL))
    max_per_purchase = fields.Integer(strict=True, validate=validate.Range(min=1, max=500))
    terms = fields.String(allow_none=True, validate=validate.Length(max=5000))
    validity = fields.Nested(Validity)


class CardRef(Schema):
    shop_id = fields.UUID(required=True)
    card_id = fields.UUID(required=True)
    actor = fields.Nested(Actor, load_default=None, allow_none=True)


class SuspendCard(CardRef):
    confirm = fields.Boolean(load_default=False)


class ListCards(Schema):
    shop_id = fields.UUID(required=True)
    include_deleted = fields.Boolean(load_default=False)


class CreateStampQr(Keyed):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)
    amount = Money(load_default=None, allow_none=True, minimum=1, maximum=10_000_000_00)
    actor = fields.Nested(Actor, required=True)


class QrRef(Schema):
    shop_id = fields.UUID(required=True)
    qr_id = fields.UUID(required=True)


class ClaimStamps(Schema):
    """A member's scan of a stamp QR (one-time or printed). A printed code needs an idempotency key."""

    shop_id = fields.UUID(required=True)
    token = fields.String(required=True, validate=validate.Length(min=1, max=300))
    phone = Phone(required=True)
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class SetPrintedStampQr(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)
    enabled = fields.Boolean(required=True)
    stamps = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=10))
    daily_limit = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100))
    regenerate = fields.Boolean(load_default=False)
    actor = fields.Nested(Actor, load_default=None, allow_none=True)


class BranchRef(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(required=True)


class VoidStamps(Keyed):
    shop_id = fields.UUID(required=True)
    entry_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=TEXT)
    actor = fields.Nested(Actor, required=True)
    at_branch = fields.UUID(load_default=None, allow_none=True)


class MemberStamps(Schema):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


class StampStats(Schema):
    shop_id = fields.UUID(required=True)
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    live = fields.Boolean(load_default=False)

    @validates_schema
    def _order(self, data, **kwargs):
        if data["until"] < data["since"]:
            raise ValidationError("must not be before since", "until")
        if (data["until"] - data["since"]).days > 366:
            raise ValidationError("at most 366 days at a time", "until")


class AsOf(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


# --- responses ---------------------------------------------------------------------

class TicketView(Schema):
    at = fields.Integer()
    reward_id = fields.String()


class Card(Schema):
    """A card design (also the data of every stampcards.* event)."""

    card_id = fields.UUID()
    shop_id = fields.UUID()
    status = fields.String()
    name = fields.String()
    stamps_to_fill = fields.Integer()
    rule = fields.Method("_rule")
    tickets = fields.List(fields.Nested(TicketView))
    welcome_stamps = fields.Integer()
    max_per_purchase = fields.Integer()
    terms = fields.String(allow_none=True)
    validity = fields.Method("_validity")
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    activated_at = fields.AwareDateTime(allow_none=True)
    suspended_at = fields.AwareDateTime(allow_none=True)
    deleted_at = fields.AwareDateTime(allow_none=True)

    def _rule(self, card):
        per_baht = None if card["unit_satang"] is None else Money()._serialize(card["unit_satang"], None, None)
        return {"mode": card["rule_mode"], "stamps": card["stamps_per_visit"], "per_baht": per_baht}

    def _validity(self, card):
        """until: the last valid day (shop time), as designed; ends_at: the instant it ends."""
        ends_at = card["valid_until"]
        until = None
        if ends_at is not None:
            until = (ends_at.astimezone(zoneinfo.ZoneInfo(card["timezone"])) - datetime.timedelta(days=1)).date()
        return {"mode": card["validity_mode"], "until": until.isoformat() if until else None,
                "ends_at": ends_at.isoformat() if ends_at else None, "days": card["valid_days"]}


class Entry(Schema):
    entry_id = fields.Integer()
    card_id = fields.UUID()
    phone = fields.String()
    kind = fields.String()
    stamps = fields.Integer()
    stamps_after = fields.Integer()
    card_no = fields.Integer()
    opens_card = fields.Boolean()
    branch_id = fields.UUID(allow_none=True)
    source = fields.String()
    reason = fields.String(allow_none=True)
    ref_entry_id = fields.Integer(allow_none=True)
    unrecovered = fields.Integer()
    created_at = fields.AwareDateTime()


class TicketRow(Schema):
    ticket_id = fields.UUID()
    card_id = fields.UUID()
    phone = fields.String()
    card_no = fields.Integer()
    at_stamps = fields.Integer()
    reward_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    entry_id = fields.Integer()
    created_at = fields.AwareDateTime()
    coupon_id = fields.UUID(allow_none=True)
    coupon_code = fields.String(allow_none=True)
    used_at = fields.AwareDateTime(allow_none=True)


CARD = Card()
ENTRY = Entry()
TICKET = TicketRow()


# --- events consumed from the rewards service ----------------------------------------

class CouponsIssuedData(EventData):
    source = fields.String(required=True)
    source_ref = fields.String(load_default=None, allow_none=True)
    coupons = fields.List(fields.Dict(), required=True)


class CouponChangeData(EventData):
    coupon_id = fields.UUID(required=True)
    source = fields.String(required=True)
    source_ref = fields.String(load_default=None, allow_none=True)
    used_at = fields.AwareDateTime(load_default=None, allow_none=True)
    used_branch_id = fields.UUID(load_default=None, allow_none=True)
