"""HTTP bodies and responses of personal-data routes (PDPA): a member's data export, erasure,
shop cancellation, answer retention and the retention job."""
from marshmallow import Schema, fields, validate

from gateway.contracts import not_in_the_future

TIME = {"format": "date-time"}


class DataExport(Schema):
    shop_id = fields.String()
    member_id = fields.String()
    exported_at = fields.String(metadata=TIME)
    members = fields.Dict(metadata={"description": "the member row (profile, consent, status, totals, tier), "
                                                   "answers, tags, change history, tier decisions"})
    points = fields.Dict(metadata={"description": "account, entries, lots, sales, orders, spends, QR claims"})
    rewards = fields.Dict(metadata={"description": "redemptions (with delivery addresses), coupons with history"})
    notifier = fields.Dict(metadata={"description": "contact (LINE user id, opt-outs) and every message"})


class Erasure(Schema):
    member_id = fields.String()
    pseudonym = fields.String(metadata={"description": "what the member's records carry instead of the phone "
                                                       "in every service: erased:<member_id>"})
    erased_at = fields.String(metadata=TIME)
    already_erased = fields.Boolean()


class ShopCancelled(Schema):
    shop_id = fields.String()
    cancelled_at = fields.String(metadata=TIME)
    purge_due_at = fields.String(metadata={**TIME, "description": "90 days after the end of the month of "
                                                                 "cancellation (shop time): every datum is deleted"})
    purged = fields.Boolean()


class AnswerRetentionBody(Schema):
    days = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=1, max=3650),
                          metadata={"description": "registration answers are deleted this many shop-local days "
                                                   "after they were given; null keeps them"})


class AnswerRetention(Schema):
    shop_id = fields.String()
    days = fields.Integer(allow_none=True)


class RetentionRunBody(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, validate=not_in_the_future,
                                 metadata={"description": "default: now; never in the future"})


class RetentionRun(Schema):
    answers_deleted = fields.Integer()
    shops_purged = fields.List(fields.String())
    skipped = fields.String()
