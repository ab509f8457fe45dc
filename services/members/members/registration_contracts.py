"""Requests and answers of registration, profiles, questions, tags and search (marshmallow)."""
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from chassis.fields import Phone
from members import domain
from members.contracts import Idempotent

ACTOR_TYPES = ("member", "staff", "admin", "system", "internal_system")


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Tag(fields.String):
    """A tag: 1-50 characters, no comma, no surrounding space; case kept, compared as written."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        reason = domain.tag_problem(text)
        if reason:
            raise ValidationError(reason)
        return text


class ProfileFields(Schema):
    """The personal fields a member has; every one optional in an update."""

    name = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)
    gender = fields.String(validate=validate.OneOf(domain.GENDERS), allow_none=True)
    birthday = fields.Date(allow_none=True)
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)
    address = fields.String(validate=validate.Length(max=1000), allow_none=True)
    line_user_id = fields.String(validate=validate.Regexp(domain.LINE_USER_ID, error="not a LINE user id (U + 32 hex)"),
                                 allow_none=True)

    @validates("birthday")
    def _birthday(self, value, **kwargs):
        reason = domain.birthday_problem(value)
        if reason:
            raise ValidationError(reason)

    @validates("name")
    def _name(self, value, **kwargs):
        if value is not None and not value.strip():
            raise ValidationError("must not be blank")


class Answer(Schema):
    question_id = fields.UUID(required=True)
    value = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    values = fields.List(fields.String(validate=validate.Length(max=100)), load_default=None, allow_none=True,
                         validate=validate.Length(max=50))


class Register(Idempotent, ProfileFields):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)
    consent = fields.Boolean(required=True)
    consent_version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    answers = fields.List(fields.Nested(Answer), load_default=list, validate=validate.Length(max=100))
    tags = fields.List(Tag(), load_default=list, validate=validate.Length(max=50))
    actor = fields.Nested(Actor, required=True)

    @validates("consent")
    def _consent(self, value, **kwargs):
        if value is not True:
            raise ValidationError("the member must consent to the shop's terms and privacy text to register")


class ShopOnly(Schema):
    shop_id = fields.UUID(required=True)


class MemberRef(Schema):
    shop_id = fields.UUID(required=True)
    member_id = fields.UUID(required=True)


class UpdateProfile(MemberRef, ProfileFields):
    actor = fields.Nested(Actor, required=True)
    phone = fields.Raw(load_default=None)

    @validates("phone")
    def _phone(self, value, **kwargs):
        if value is not None:
            raise ValidationError("a phone number cannot be changed here: the points account is keyed by it; "
                                  "register the new number and ask the shop to move the points")

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) & set(ProfileFields().fields):
            raise ValidationError("name at least one field to change", "_schema")


class TagChange(MemberRef, Idempotent):
    tags = fields.List(Tag(), required=True, validate=validate.Length(min=1, max=50))
    actor = fields.Nested(Actor, required=True)
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class History(MemberRef):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class Search(Schema):
    shop_id = fields.UUID(required=True)
    phone = fields.String(load_default=None, validate=validate.Length(min=3, max=20))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    tag = Tag(load_default=None)
    tier = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    status = fields.String(load_default=None, validate=validate.OneOf(domain.MEMBER_STATUSES))
    after = fields.UUID(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class Choice(Schema):
    value = fields.String(required=True, validate=validate.Length(min=1, max=100))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tag = Tag(load_default=None, allow_none=True)


class SaveQuestion(Schema):
    shop_id = fields.UUID(required=True)
    question_id = fields.UUID(load_default=None, allow_none=True)
    position = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(domain.QUESTION_KINDS))
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=500))
    choices = fields.List(fields.Nested(Choice), load_default=list, validate=validate.Length(max=50))
    required = fields.Boolean(load_default=False)

    @validates_schema
    def _choices(self, data, **kwargs):
        reason = domain.choices_problem(data["kind"], data["choices"])
        if reason:
            raise ValidationError(reason, "choices")


class QuestionRef(Schema):
    shop_id = fields.UUID(required=True)
    question_id = fields.UUID(required=True)


class Question(Schema):
    question_id = fields.UUID()
    position = fields.Integer()
    kind = fields.String()
    prompt = fields.String()
    choices = fields.List(fields.Dict())
    required = fields.Boolean()


class SetConsentText(Schema):
    shop_id = fields.UUID(required=True)
    version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    terms = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    privacy = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class ConsentText(Schema):
    shop_id = fields.UUID()
    version = fields.String()
    terms = fields.String()
    privacy = fields.String()
    created_at = fields.AwareDateTime()


class Profile(Schema):
    """A member as staff, admins and the member see them."""

    member_id = fields.UUID()
    shop_id = fields.UUID()
    phone = fields.String()
    status = fields.String()
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    line_user_id = fields.String(allow_none=True)
    consent_version = fields.String(allow_none=True)
    consented_at = fields.AwareDateTime(allow_none=True)
    registered_at = fields.AwareDateTime(allow_none=True)
    registered_via = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    answers = fields.List(fields.Dict())
    lifetime_points = fields.Integer()
    points_balance = fields.Integer()
    sales_count = fields.Integer()
    last_sale_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class Change(Schema):
    change_id = fields.Integer()
    changed_at = fields.AwareDateTime()
    actor = fields.Dict()
    kind = fields.String()
    changes = fields.Dict()


# --- events published ------------------------------------------------------

class Registered(Schema):
    """members.registered v1."""

    member_id = fields.UUID()
    phone = fields.String()
    name = fields.String(allow_none=True)
    line_user_id = fields.String(allow_none=True)
    registered_via = fields.String()
    consent_version = fields.String()
    claimed = fields.Boolean()
    tags = fields.List(fields.String())
    registered_at = fields.AwareDateTime()


class Updated(Schema):
    """members.updated v1: which fields changed (their values are read from the members API)."""

    member_id = fields.UUID()
    phone = fields.String()
    changed = fields.List(fields.String())
    name = fields.String(allow_none=True)
    line_user_id = fields.String(allow_none=True)
    actor = fields.Dict()


class Tagged(Schema):
    """members.tagged v1."""

    member_id = fields.UUID()
    phone = fields.String()
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    tags = fields.List(fields.String())
    actor = fields.Dict()


REGISTER = Register()
PROFILE = Profile()
