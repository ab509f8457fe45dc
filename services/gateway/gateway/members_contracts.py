"""HTTP bodies, query strings and responses of registration, profiles, tags, questions and search."""
from marshmallow import Schema, fields, validate

from chassis.fields import Phone

GENDERS = ("female", "male", "other", "unspecified")
TAG = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "no comma"})


class ProfileBody(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)
    gender = fields.String(validate=validate.OneOf(GENDERS), allow_none=True)
    birthday = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)
    address = fields.String(validate=validate.Length(max=1000), allow_none=True)
    line_user_id = fields.String(validate=validate.Regexp(r"^U[0-9a-f]{32}$", error="not a LINE user id"),
                                 allow_none=True)


class AnswerBody(Schema):
    question_id = fields.UUID(required=True)
    value = fields.String(allow_none=True, metadata={"description": "single choice value, or text"})
    values = fields.List(fields.String(), allow_none=True, metadata={"description": "multiple choice values"})


class RegisterBody(ProfileBody):
    phone = Phone(required=True)
    consent = fields.Boolean(required=True, metadata={"description": "must be true: the member accepted the "
                                                                     "shop's terms and privacy text"})
    consent_version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    answers = fields.List(fields.Nested(AnswerBody), load_default=list)
    tags = fields.List(TAG, load_default=list)


class Profile(Schema):
    member_id = fields.String()
    shop_id = fields.String()
    phone = fields.String()
    status = fields.String(metadata={"description": "phone_only, registered, imported or erased"})
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    line_user_id = fields.String(allow_none=True)
    consent_version = fields.String(allow_none=True)
    consented_at = fields.String(allow_none=True)
    registered_at = fields.String(allow_none=True)
    registered_via = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    answers = fields.List(fields.Dict())
    lifetime_points = fields.Integer()
    points_balance = fields.Integer()
    sales_count = fields.Integer()
    last_sale_at = fields.String(allow_none=True)
    created_at = fields.String()
    changed = fields.List(fields.String(), metadata={"description": "after an update: the fields it changed"})


class TagsBody(Schema):
    tags = fields.List(TAG, required=True, validate=validate.Length(min=1, max=50))


class TagsView(Schema):
    member_id = fields.String()
    tags = fields.List(fields.String())
    changed = fields.List(fields.String())


class MemberHistoryQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1))


class Change(Schema):
    change_id = fields.Integer()
    changed_at = fields.String()
    actor = fields.Dict()
    kind = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [old, new]"})


class MemberHistoryPage(Schema):
    changes = fields.List(fields.Nested(Change))
    next_before = fields.Integer(allow_none=True)


class SearchQuery(Schema):
    phone = fields.String(load_default=None, metadata={"description": "a whole number, or its last digits"})
    name = fields.String(load_default=None, metadata={"description": "prefix, case-insensitive"})
    tag = fields.String(load_default=None)
    tier = fields.String(load_default=None, metadata={"description": "tier name"})
    status = fields.String(load_default=None)
    after = fields.UUID(load_default=None, metadata={"description": "next_after of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class SearchPage(Schema):
    members = fields.List(fields.Nested(Profile))
    next_after = fields.String(allow_none=True)


class ConsentBody(Schema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    terms = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    privacy = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class ConsentText(Schema):
    version = fields.String(allow_none=True)
    terms = fields.String(allow_none=True)
    privacy = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class ChoiceBody(Schema):
    value = fields.String(required=True)
    label = fields.String(required=True)
    tag = fields.String(allow_none=True, metadata={"description": "answering this choice adds the tag"})


class QuestionBody(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("single", "multiple", "text")))
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=500))
    choices = fields.List(fields.Nested(ChoiceBody), load_default=list)
    required = fields.Boolean(load_default=False)
    position = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100))


class Question(Schema):
    question_id = fields.String()
    position = fields.Integer()
    kind = fields.String()
    prompt = fields.String()
    choices = fields.List(fields.Dict())
    required = fields.Boolean()


class QuestionList(Schema):
    questions = fields.List(fields.Nested(Question))


class Archived(Schema):
    question_id = fields.String()
    archived = fields.Boolean()
