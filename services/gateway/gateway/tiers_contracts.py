"""HTTP bodies, query strings and responses of the tier routes (marshmallow).

The shape is checked here; the rules across tiers (at most 5, names unique, thresholds
strictly increasing, no overlap) are the members service's, which names the field."""
from marshmallow import Schema, fields, validate

from gateway.contracts import not_in_the_future

TIME = {"format": "date-time"}
DATE = {"format": "date"}
POINTS = validate.Range(min=0, max=1_000_000_000)


class TierBody(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"example": "Gold"})
    threshold = fields.Integer(required=True, strict=True, validate=POINTS, metadata={"example": 1000})
    max_points = fields.Integer(load_default=None, allow_none=True, strict=True, validate=POINTS,
                                metadata={"description": "optional upper bound: the next threshold - 1"})


class DowngradeBody(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("tier_expiry", "cycle")))
    months = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=36),
                            metadata={"description": "tier_expiry: months a tier lasts after it is reached"})
    cycle = fields.String(load_default=None, allow_none=True,
                          validate=validate.OneOf(("monthly", "quarterly", "half_yearly", "yearly")),
                          metadata={"description": "cycle: when tiers are checked (shop time)"})


class TierSettingsBody(Schema):
    tiers = fields.List(fields.Nested(TierBody), required=True, validate=validate.Length(min=1, max=50),
                        metadata={"description": "lowest first; at most 5"})
    window_months = fields.Integer(required=True, strict=True, validate=validate.OneOf((1, 3, 6, 12)),
                                   metadata={"description": "points received in the last 1, 3, 6 or 12 months"})
    downgrade = fields.Nested(DowngradeBody, required=True)


class DryRunBody(TierSettingsBody):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "default: now"})


class CycleBody(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, validate=not_in_the_future,
                                 metadata={"description": "default: now; never in the future"})


class HistoryQuery(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1),
                            metadata={"description": "next_before of the previous page"})


class Tier(Schema):
    tier_id = fields.String(allow_none=True)
    name = fields.String()
    threshold = fields.Integer()
    max_points = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True, metadata={"description": "1 = lowest; null: no longer offered"})


class TierSettings(Schema):
    shop_id = fields.String()
    version = fields.Integer()
    tiers = fields.List(fields.Nested(Tier))
    window_months = fields.Integer()
    downgrade = fields.Dict()
    created_at = fields.String(metadata=TIME)
    changed = fields.Boolean(metadata={"description": "false: these terms were already the current version"})


class DryRun(Schema):
    up = fields.Integer()
    down = fields.Integer()
    stay = fields.Integer()
    members = fields.Integer()
    by_tier = fields.Dict(keys=fields.String(), values=fields.Integer())
    as_of = fields.String(metadata=TIME)
    window_start = fields.String(metadata=DATE)
    window_end = fields.String(metadata=DATE)


class CycleRun(Schema):
    shops = fields.Integer()
    cycle_ends = fields.Integer()
    expired = fields.Integer()
    changed = fields.Integer()
    skipped = fields.String(metadata={"description": "another run was in progress"})


class Decision(Schema):
    decision_id = fields.Integer()
    decided_at = fields.String(metadata=TIME)
    reason = fields.String(metadata={"description": "upgrade, cycle_end, tier_expired, settings_changed"})
    from_tier = fields.String(allow_none=True)
    to_tier = fields.String(allow_none=True)
    window_points = fields.Integer()
    window_start = fields.String(metadata=DATE)
    window_end = fields.String(metadata=DATE)
    settings_version = fields.Integer()


class MemberTier(Schema):
    member_id = fields.String()
    phone = fields.String()
    tier = fields.Nested(Tier, allow_none=True)
    tier_reached_at = fields.String(allow_none=True, metadata=TIME)
    tier_expires_at = fields.String(allow_none=True, metadata=TIME)
    window_points = fields.Integer()
    window_start = fields.String(allow_none=True, metadata=DATE)
    window_end = fields.String(allow_none=True, metadata=DATE)
    settings_version = fields.Integer(allow_none=True)
    decision = fields.Nested(Decision, allow_none=True, metadata={"description": "why the member holds this tier"})


class History(Schema):
    decisions = fields.List(fields.Nested(Decision))
    next_before = fields.Integer(allow_none=True)
