"""Requests, responses and event payloads of member sign-in (marshmallow). Requests refuse
unknown fields and name each bad one."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import Phone

CODE = validate.Regexp(r"^[0-9]{6}\Z", error="6 digits")
ID_TOKEN = validate.Length(min=1, max=4096)
NONCE = validate.Regexp(r"^[\x21-\x7e]{1,255}\Z", error="1-255 printable ASCII characters")
LINE_USER = validate.Regexp(r"^U[0-9a-f]{32}\Z", error="a LINE user id (U + 32 hex)")


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class SetLineLogin(ShopRef):
    channel_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{1,20}\Z",
                                                                       error="the channel id: digits only"))
    channel_secret = fields.String(required=True, validate=validate.Regexp(
        r"^[\x21-\x7e]{1,200}\Z", error="1-200 printable ASCII characters without spaces"))


class LineLogin(Schema):
    """The shop's LINE Login channel as it is shown: never the secret."""

    shop_id = fields.UUID()
    channel_id = fields.String(allow_none=True)
    secret_set = fields.Boolean()
    updated_at = fields.AwareDateTime(allow_none=True)


class NonceRequest(ShopRef):
    client_ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class RequestOtp(ShopRef):
    phone = Phone(required=True)
    client_ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("th", "en")))


class OtpSent(Schema):
    challenge_id = fields.UUID()
    expires_at = fields.AwareDateTime()


class OtpProof(Schema):
    challenge_id = fields.UUID(required=True)
    code = fields.String(required=True, validate=CODE)


class VerifyOtp(ShopRef, OtpProof):
    pass


class LineSignIn(ShopRef):
    id_token = fields.String(required=True, validate=ID_TOKEN)
    nonce = fields.String(load_default=None, allow_none=True, validate=NONCE)
    otp = fields.Nested(OtpProof, load_default=None, allow_none=True)


class LinkLine(ShopRef):
    member_id = fields.UUID(required=True)
    id_token = fields.String(required=True, validate=ID_TOKEN)
    nonce = fields.String(load_default=None, allow_none=True, validate=NONCE)


class MemberRef(ShopRef):
    member_id = fields.UUID(required=True)


class SignOut(MemberRef):
    token_id = fields.UUID(load_default=None, allow_none=True)
    all = fields.Boolean(load_default=False)

    @validates_schema
    def _one_or_all(self, data, **kwargs):
        if not data["all"] and data["token_id"] is None:
            raise ValidationError("name the token to revoke, or set all", "token_id")


class AuthenticateMember(Schema):
    token = fields.String(required=True, validate=validate.Length(min=4, max=200))


class PurgeSignIn(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


class MemberView(Schema):
    """A member as they see themselves."""

    member_id = fields.UUID()
    shop_id = fields.UUID()
    phone = fields.String()
    status = fields.String()
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    line_linked = fields.Function(lambda m: m.get("line_user_id") is not None)
    tier = fields.String(allow_none=True)
    points_balance = fields.Integer()
    lifetime_points = fields.Integer()
    registered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class SignedIn(Schema):
    token = fields.String()
    token_id = fields.UUID()
    expires_at = fields.AwareDateTime()
    method = fields.String()
    member = fields.Nested(MemberView)


class MemberPrincipal(Schema):
    token_id = fields.UUID()
    role = fields.Constant("member")
    shop_id = fields.UUID()
    member_id = fields.UUID()
    phone = fields.String()


# --- events published -----------------------------------------------------------

class LineLinked(Schema):
    member_id = fields.UUID()
    phone = fields.String()
    line_user_id = fields.String()
    linked_at = fields.AwareDateTime()


class SignedInEvent(Schema):
    member_id = fields.UUID()
    phone = fields.String()
    token_id = fields.UUID()
    method = fields.String()
    expires_at = fields.AwareDateTime()


class SignedOut(Schema):
    member_id = fields.UUID()
    token_ids = fields.List(fields.UUID())
    reason = fields.String()


MEMBER_VIEW = MemberView()
SIGNED_IN = SignedIn()
PRINCIPAL = MemberPrincipal()
LINE_LOGIN = LineLogin()
