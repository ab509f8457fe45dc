"""HTTP bodies and responses of member sign-in and the member's own routes (`/shops/{shop_id}/me`)."""
from marshmallow import Schema, fields, validate

from chassis.fields import Phone

TIME = {"format": "date-time"}
CODE = validate.Regexp(r"^[0-9]{6}\Z", error="6 digits")
NONCE = validate.Regexp(r"^[\x21-\x7e]{1,255}\Z", error="1-255 printable ASCII characters")
GENDERS = ("female", "male", "other", "unspecified")


class OtpBody(Schema):
    phone = Phone(required=True, metadata={"example": "081-234-5678"})
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("th", "en")),
                             metadata={"description": "of the SMS; default: the member's, else the shop's"})


class OtpSent(Schema):
    challenge_id = fields.String(metadata={"description": "send it back with the code"})
    expires_at = fields.String(metadata=TIME)


class OtpProof(Schema):
    challenge_id = fields.UUID(required=True)
    code = fields.String(required=True, validate=CODE, metadata={"example": "482913"})


class LineBody(Schema):
    id_token = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                             metadata={"description": "the ID token of the shop's LINE Login / LIFF channel"})
    nonce = fields.String(load_default=None, allow_none=True, validate=NONCE,
                          metadata={"description": "the nonce the client sent to LINE (from POST .../me/line/nonce), "
                                                   "checked when given"})


class LineNonce(Schema):
    nonce = fields.String(metadata={"description": "put it in the LINE Login authorization request; accepted once"})
    expires_at = fields.String(metadata={"format": "date-time"})


class LineSignInBody(LineBody):
    otp = fields.Nested(OtpProof, load_default=None, allow_none=True,
                        metadata={"description": "a fresh code proving the phone: links an unlinked LINE account"})


class Me(Schema):
    member_id = fields.String()
    shop_id = fields.String()
    phone = fields.String()
    status = fields.String(metadata={"description": "phone_only, registered, imported"})
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    line_linked = fields.Boolean()
    tier = fields.String(allow_none=True)
    points_balance = fields.Integer(metadata={"description": "from the points service (the ledger)"})
    lifetime_points = fields.Integer()
    registered_at = fields.String(allow_none=True, metadata=TIME)
    created_at = fields.String(metadata=TIME)


class SignedIn(Schema):
    token = fields.String(metadata={"description": "the member token (shown once): 'Authorization: Bearer mt_...'"})
    token_id = fields.String()
    expires_at = fields.String(metadata=TIME)
    method = fields.String(metadata={"description": "otp or line"})
    member = fields.Nested(Me)


class SignOutBody(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "every token of the member, not only this one"})


class SignedOut(Schema):
    revoked = fields.Integer()


class ClaimQrBody(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=300),
                          metadata={"description": "the `t` of the scanned code's URL"})


class QrClaimed(Schema):
    points = fields.Integer()
    balance = fields.Integer()
    entry_id = fields.Integer()
    branch_id = fields.String()
    sale_id = fields.String(allow_none=True, metadata={"description": "one-time codes: the sale it was for"})


class RegistrationAnswer(Schema):
    question_id = fields.UUID(required=True)
    value = fields.String(allow_none=True)
    values = fields.List(fields.String(), allow_none=True)


class RegistrationBody(Schema):
    """The member registers their own phone (the token's)."""

    name = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)
    gender = fields.String(validate=validate.OneOf(GENDERS), allow_none=True)
    birthday = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)
    address = fields.String(validate=validate.Length(max=1000), allow_none=True)
    consent = fields.Boolean(required=True, metadata={"description": "must be true"})
    consent_version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    answers = fields.List(fields.Nested(RegistrationAnswer), load_default=list)


class LineLoginBody(Schema):
    channel_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{1,20}\Z", error="digits only"))
    channel_secret = fields.String(required=True, validate=validate.Regexp(
        r"^[\x21-\x7e]{1,200}\Z", error="1-200 printable ASCII characters"),
        metadata={"description": "stored, never returned"})


class LineLogin(Schema):
    shop_id = fields.String()
    channel_id = fields.String(allow_none=True)
    secret_set = fields.Boolean()
    updated_at = fields.String(allow_none=True, metadata=TIME)
