"""HTTP bodies and responses of the notification routes (marshmallow)."""
from marshmallow import Schema, fields, validate

TIME = {"format": "date-time"}
TRIGGERS = ("points_earned", "points_expiring", "coupon_received", "coupon_expiring", "delivery_status",
            "tier_changed", "campaign")
LANGUAGES = ("th", "en")


class ChannelsBody(Schema):
    shop_name = fields.String(load_default="", validate=validate.Length(max=100),
                              metadata={"description": "how messages name the shop"})
    member_page_url = fields.Url(load_default=None, allow_none=True, schemes={"https", "http"}, require_tld=False,
                                 metadata={"description": "the shop's member page (e.g. its LIFF URL): {link}"})
    line_token = fields.String(allow_none=True, validate=validate.Length(min=10, max=500), metadata={
        "description": "the LINE channel access token (stored, never shown; leave out to keep it, null removes)"})
    sms_enabled = fields.Boolean(load_default=False)
    sms_provider = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(("thaibulksms", "webhook")))
    sms_sender = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=11))
    sms_credentials = fields.Dict(allow_none=True, metadata={
        "description": "thaibulksms: {api_key, api_secret}; webhook: {url, token} (stored, never shown; "
                       "leave out to keep them, null removes)"})
    timezone = fields.String(load_default="Asia/Bangkok", validate=validate.Length(min=1, max=64))
    language = fields.String(load_default="th", validate=validate.OneOf(LANGUAGES))
    quiet_start = fields.String(load_default=None, allow_none=True, metadata={"example": "21:00"})
    quiet_end = fields.String(load_default=None, allow_none=True, metadata={"example": "08:00"})


class Channels(Schema):
    shop_id = fields.String()
    shop_name = fields.String()
    member_page_url = fields.String(allow_none=True)
    line_linked = fields.Boolean()
    sms_enabled = fields.Boolean()
    sms_provider = fields.String(allow_none=True)
    sms_sender = fields.String(allow_none=True)
    timezone = fields.String()
    language = fields.String()
    quiet_start = fields.String()
    quiet_end = fields.String()


class ContactBody(Schema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    line_user_id = fields.String(load_default=None, allow_none=True)
    line_blocked = fields.Boolean(load_default=False)
    opt_out_marketing = fields.Boolean(load_default=False)
    opt_out_transactional = fields.Boolean(load_default=False)


class Contact(ContactBody):
    phone = fields.String()


class TemplateBody(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                         metadata={"example": "{shop}: +{points} points, balance {balance}"})


class Template(Schema):
    trigger = fields.String()
    language = fields.String()
    body = fields.String()


class PreviewBody(Schema):
    trigger = fields.String(required=True, validate=validate.OneOf(TRIGGERS))
    language = fields.String(load_default="th", validate=validate.OneOf(LANGUAGES))
    body = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000))
    values = fields.Dict(load_default=dict)


class Preview(Schema):
    text = fields.String()
    sms_parts = fields.Integer()


class MessagesQuery(Schema):
    phone = fields.String(load_default=None)
    campaign_id = fields.String(load_default=None)
    status = fields.String(load_default=None,
                           validate=validate.OneOf(("queued", "sent", "delivered", "failed", "skipped")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class Message(Schema):
    message_id = fields.String()
    phone = fields.String()
    trigger = fields.String()
    kind = fields.String()
    campaign_id = fields.String(allow_none=True)
    channel = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    provider_id = fields.String(allow_none=True)
    sms_parts = fields.Integer(allow_none=True)
    body = fields.String()
    created_at = fields.String(metadata=TIME)
    sent_at = fields.String(allow_none=True, metadata=TIME)
    delivered_at = fields.String(allow_none=True, metadata=TIME)


class DeliveryReportBody(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("delivered", "failed")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    at = fields.AwareDateTime(load_default=None, allow_none=True)


class MessageList(Schema):
    messages = fields.List(fields.Nested(Message))
