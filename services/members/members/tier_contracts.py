"""Requests, responses and event payloads of member tiers (marshmallow).

Requests refuse unknown fields and name each bad one; the points events read
here ignore fields they do not need (tolerant reader).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.inbox import EventData
from members import tiers as rules

POINTS = validate.Range(min=0, max=1_000_000_000)


class Tier(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    threshold = fields.Integer(required=True, strict=True, validate=POINTS)
    max_points = fields.Integer(load_default=None, allow_none=True, strict=True, validate=POINTS,
                                metadata={"description": "optional: the tier's upper bound, which must be the "
                                                         "next threshold - 1 (no overlap)"})


class Downgrade(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(rules.DOWNGRADE_MODES))
    months = fields.Integer(load_default=None, allow_none=True, strict=True,
                            validate=validate.Range(min=1, max=rules.MAX_EXPIRY_MONTHS),
                            metadata={"description": "tier_expiry: a tier expires this many months after it "
                                                     "was reached"})
    cycle = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(rules.CYCLES))

    @validates_schema
    def _one_rule(self, data, **kwargs):
        if data["mode"] == "tier_expiry":
            if data["months"] is None:
                raise ValidationError("required with mode tier_expiry", "months")
            if data["cycle"] is not None:
                raise ValidationError("only with mode cycle", "cycle")
        else:
            if data["cycle"] is None:
                raise ValidationError("required with mode cycle", "cycle")
            if data["months"] is not None:
                raise ValidationError("only with mode tier_expiry", "months")


class TierTerms(Schema):
    shop_id = fields.UUID(required=True)
    tiers = fields.List(fields.Nested(Tier), required=True, validate=validate.Length(min=1))
    window_months = fields.Integer(required=True, strict=True, validate=validate.OneOf(rules.WINDOW_MONTHS))
    downgrade = fields.Nested(Downgrade, required=True)

    @validates_schema
    def _tiers(self, data, **kwargs):
        problems = rules.tier_errors(data.get("tiers") or [])
        if problems:
            raise ValidationError(problems)


class DryRun(TierTerms):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


class ShopRef(Schema):
    shop_id = fields.UUID(required=True)


class MemberRef(Schema):
    shop_id = fields.UUID(required=True)
    member_id = fields.UUID(required=True)


class HistoryPage(MemberRef):
    limit = fields.Integer(load_default=20, strict=True, validate=validate.Range(min=1, max=100))
    before = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1),
                            metadata={"description": "decision_id of the last row of the previous page"})


class RunCycle(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)
    shop_id = fields.UUID(load_default=None, allow_none=True)


class TierOut(Schema):
    tier_id = fields.UUID()
    name = fields.String()
    threshold = fields.Integer()
    max_points = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True)


class Settings(Schema):
    shop_id = fields.UUID()
    version = fields.Integer()
    tiers = fields.List(fields.Nested(TierOut))
    window_months = fields.Integer()
    downgrade = fields.Dict()
    created_at = fields.AwareDateTime()
    changed = fields.Boolean()


class Decision(Schema):
    decision_id = fields.Integer()
    member_id = fields.UUID()
    decided_at = fields.AwareDateTime()
    reason = fields.String()
    from_tier_id = fields.UUID(allow_none=True)
    from_tier = fields.String(allow_none=True)
    to_tier_id = fields.UUID(allow_none=True)
    to_tier = fields.String(allow_none=True)
    window_points = fields.Integer()
    window_start = fields.Date()
    window_end = fields.Date()
    settings_version = fields.Integer()


class MemberTier(Schema):
    member_id = fields.UUID()
    shop_id = fields.UUID()
    phone = fields.String()
    tier = fields.Nested(TierOut, allow_none=True)
    tier_reached_at = fields.AwareDateTime(allow_none=True)
    tier_expires_at = fields.AwareDateTime(allow_none=True)
    window_points = fields.Integer(metadata={"description": "points received in the window as of now"})
    window_start = fields.Date(allow_none=True)
    window_end = fields.Date(allow_none=True)
    settings_version = fields.Integer(allow_none=True)
    decision = fields.Nested(Decision, allow_none=True)


class DryRunResult(Schema):
    up = fields.Integer()
    down = fields.Integer()
    stay = fields.Integer()
    members = fields.Integer()
    by_tier = fields.Dict(keys=fields.String(), values=fields.Integer())
    as_of = fields.AwareDateTime()
    window_start = fields.Date()
    window_end = fields.Date()


class History(Schema):
    decisions = fields.List(fields.Nested(Decision))
    next_before = fields.Integer(allow_none=True)


# --- events ------------------------------------------------------------------

class TierPointsData(EventData):
    """What tiers read of points.earned/.adjusted/.voided (others contribute nothing)."""

    phone = fields.String(required=True)
    points = fields.Integer(load_default=0, allow_none=True)
    target_kind = fields.String(load_default=None, allow_none=True)
    requested = fields.Integer(load_default=None, allow_none=True)
    target_at = fields.AwareDateTime(load_default=None, allow_none=True)  # points.voided: the credit's time


class TierChanged(Schema):
    """members.tier_changed v1: `phone`, `from`, `to`, `reason` (the notifier's contract) and more."""

    member_id = fields.UUID()
    phone = fields.String()
    from_ = fields.String(allow_none=True, attribute="from_tier", data_key="from")
    to = fields.String(allow_none=True, attribute="to_tier")
    from_tier_id = fields.UUID(allow_none=True)
    to_tier_id = fields.UUID(allow_none=True)
    reason = fields.String()
    window_points = fields.Integer()
    window_start = fields.Date()
    window_end = fields.Date()
    settings_version = fields.Integer()
    decision_id = fields.Integer()
    decided_at = fields.AwareDateTime()


class TierSettingsChanged(Settings):
    class Meta:
        exclude = ("changed",)


def tier_changed_data(row, reason, version):
    """TierChanged's dump, written out for the cycle's bulk (a schema dump per row costs
    ~90 us; this ~3 us). tests/unit/test_tiers.py holds the two equal."""
    def text(value):
        return None if value is None else str(value)

    return {"member_id": str(row["member_id"]), "phone": row["phone"], "from": row["from_tier"],
            "to": row["to_tier"], "from_tier_id": text(row["from_tier_id"]), "to_tier_id": text(row["to_tier_id"]),
            "reason": reason, "window_points": row["window_points"], "window_start": row["window_start"].isoformat(),
            "window_end": row["window_end"].isoformat(), "settings_version": version,
            "decision_id": row["decision_id"], "decided_at": row["decided_at"].isoformat()}


TIER_POINTS_DATA = TierPointsData()
TIER_CHANGED = TierChanged()
