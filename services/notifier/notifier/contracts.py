"""Requests of the notifier's RPC (marshmallow): unknown fields refused, each bad one named."""
import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Phone
from notifier import templates

LANGUAGES = ("th", "en")
SECRET = validate.Regexp(r"^[\x21-\x7e]+\Z", error="printable ASCII without spaces")


def _time_zone(name):
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValidationError("not a time zone (e.g. Asia/Bangkok)") from None


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class ThaiBulkSms(Schema):
    api_key = fields.String(required=True, validate=[validate.Length(min=1, max=200), SECRET])
    api_secret = fields.String(required=True, validate=[validate.Length(min=1, max=200), SECRET])


class Webhook(Schema):
    url = fields.Url(required=True, schemes={"https", "http"}, require_tld=False)
    token = fields.String(load_default="", validate=[validate.Length(max=500), validate.Regexp(
        r"^[\x21-\x7e]*\Z", error="printable ASCII without spaces")])


class Channels(ShopRef):
    shop_name = fields.String(load_default="", validate=validate.Length(max=100))
    member_page_url = fields.Url(load_default=None, allow_none=True, schemes={"https", "http"}, require_tld=False)
    # Absent: keep what is stored (the API never shows them); null: remove.
    line_token = fields.String(allow_none=True, validate=[validate.Length(min=10, max=500), SECRET])
    sms_enabled = fields.Boolean(load_default=False)
    sms_provider = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(("thaibulksms", "webhook")))
    sms_sender = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=11))
    sms_credentials = fields.Dict(allow_none=True)
    timezone = fields.String(load_default="Asia/Bangkok", validate=[validate.Length(min=1, max=64), _time_zone])
    language = fields.String(load_default="th", validate=validate.OneOf(LANGUAGES))
    quiet_start = fields.Time(load_default=None)
    quiet_end = fields.Time(load_default=None)

    @validates_schema
    def _sms(self, data, **kwargs):
        if data.get("sms_enabled") and not data.get("sms_provider"):
            raise ValidationError("required when SMS is enabled", "sms_provider")
        provider = data.get("sms_provider")
        if provider and "sms_credentials" in data:
            schema = ThaiBulkSms() if provider == "thaibulksms" else Webhook()
            problems = schema.validate(data.get("sms_credentials") or {})
            if problems:
                raise ValidationError({"sms_credentials": problems})
            data["sms_credentials"] = schema.load(data["sms_credentials"])  # only the known, checked keys


class Contact(ShopRef):
    phone = Phone(required=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    line_user_id = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp(r"^U[0-9a-f]{32}\Z", error="a LINE user id (U + 32 hex)"))
    line_blocked = fields.Boolean(load_default=False)
    opt_out_marketing = fields.Boolean(load_default=False)
    opt_out_transactional = fields.Boolean(load_default=False)


class Template(ShopRef):
    trigger = fields.String(required=True, validate=validate.OneOf(sorted(templates.TRIGGERS)))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class Preview(ShopRef):
    trigger = fields.String(required=True, validate=validate.OneOf(sorted(templates.TRIGGERS)))
    language = fields.String(load_default="th", validate=validate.OneOf(LANGUAGES))
    body = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000))
    values = fields.Dict(load_default=dict)


class Messages(ShopRef):
    phone = Phone(load_default=None, allow_none=True)
    campaign_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(("queued", "sent", "delivered", "failed", "skipped")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class MessageRef(ShopRef):
    message_id = fields.UUID(required=True)


class SendNow(Schema):
    now = fields.AwareDateTime(load_default=None, allow_none=True)


class Campaign(ShopRef):
    """A campaign's message (sent by the campaigns service): one text to many members."""

    campaign_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phones = fields.List(fields.String(validate=validate.Regexp(r"^\+[1-9]\d{7,14}\Z", error="an E.164 phone")),
                         required=True, validate=validate.Length(min=1, max=200_000))
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class Delivery(ShopRef):
    """A provider's delivery report for a sent message."""

    message_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("delivered", "failed")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    at = fields.AwareDateTime(load_default=None, allow_none=True)
