"""Requests, responses and event payloads of personal-data rights (PDPA): a member's data
export, erasure, shop cancellation, answer retention and the retention job."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import PhoneOrPseudonym


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(("admin", "operator", "member", "system")))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class MemberRef(Schema):
    """A member by id or by phone (one of the two)."""

    shop_id = fields.UUID(required=True)
    member_id = fields.UUID(load_default=None, allow_none=True)
    phone = PhoneOrPseudonym(load_default=None, allow_none=True)

    @validates_schema
    def _one_of(self, data, **kwargs):
        if (data.get("member_id") is None) == (data.get("phone") is None):
            raise ValidationError("give member_id or phone (one of the two)", "member_id")


class EraseMember(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fingerprint = fields.String(load_default=None)
    shop_id = fields.UUID(required=True)
    member_id = fields.UUID(required=True)
    actor = fields.Nested(Actor, load_default=lambda: {"type": "admin", "id": None})


class Erased(Schema):
    """The data of members.erased v1 (and the answer of erase_member)."""

    member_id = fields.UUID()
    phone = fields.String()
    pseudonym = fields.String()
    erased_at = fields.AwareDateTime()


class CancelShop(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fingerprint = fields.String(load_default=None)
    shop_id = fields.UUID(required=True)


class ShopCancelled(Schema):
    """members.shop_cancelled v1 (and the answer of cancel_shop)."""

    shop_id = fields.UUID()
    cancelled_at = fields.AwareDateTime()
    purge_due_at = fields.AwareDateTime()


class AnswerRetention(Schema):
    shop_id = fields.UUID(required=True)
    days = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=1, max=3650))


class AnswerRetentionSet(Schema):
    """members.answer_retention_set v1."""

    shop_id = fields.UUID()
    days = fields.Integer(allow_none=True)


class AsOf(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


class ShopPurged(Schema):
    """members.shop_purged v1."""

    shop_id = fields.UUID()
    cancelled_at = fields.AwareDateTime()
    purged_at = fields.AwareDateTime()


class AnswersDeleted(Schema):
    """members.answers_deleted v1: one per shop and retention run that deleted any."""

    shop_id = fields.UUID()
    answered_before = fields.AwareDateTime()
    count = fields.Integer()
    as_of = fields.AwareDateTime()


MEMBER_REF = MemberRef()
ERASE_MEMBER = EraseMember()
ERASED = Erased()
CANCEL_SHOP = CancelShop()
SHOP_CANCELLED = ShopCancelled()
ANSWER_RETENTION = AnswerRetention()
ANSWER_RETENTION_SET = AnswerRetentionSet()
AS_OF = AsOf()
SHOP_PURGED = ShopPurged()
ANSWERS_DELETED = AnswersDeleted()
