"""Points rules without I/O: what a sale earns, when points expire, which lots pay."""
import calendar
import datetime
import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True)
class EarnRule:
    """`points` for every `unit_satang` of spend, rounding down; nothing below `min_spend_satang`."""

    points: int
    unit_satang: int
    min_spend_satang: int = 0
    version: int = 0

    def same_terms(self, other):
        return (self.points, self.unit_satang, self.min_spend_satang) == (
            other.points, other.unit_satang, other.min_spend_satang)


def points_for(amount_satang, rule):
    """Points a spend earns under `rule`: integer arithmetic only, rounding down."""
    if amount_satang < 0:
        raise ValueError("a spend is never negative")
    if amount_satang < rule.min_spend_satang:
        return 0
    return amount_satang * rule.points // rule.unit_satang


# --- lots and expiry -----------------------------------------------------------

EXPIRY_MODES = ("months", "year_end", "never")
MAX_EXPIRY_MONTHS = 24


@dataclass(frozen=True)
class ExpiryPolicy:
    """When a lot of points expires: `months` after earning (at the end of that day,
    shop time), at the end of the calendar year it was earned in, or never."""

    mode: str = "never"
    months: int | None = None

    def __post_init__(self):
        if self.mode not in EXPIRY_MODES:
            raise ValueError(f"expiry mode must be one of {EXPIRY_MODES}")
        if (self.mode == "months") != (self.months is not None):
            raise ValueError("months is given exactly when the mode is 'months'")
        if self.months is not None and not 1 <= self.months <= MAX_EXPIRY_MONTHS:
            raise ValueError(f"months must be 1-{MAX_EXPIRY_MONTHS}")


@dataclass(frozen=True)
class PointsSettings:
    """A shop's points settings: expiry, days of warning before it, welcome points,
    minutes a one-time QR stays valid."""

    expiry: ExpiryPolicy = ExpiryPolicy()
    warn_days: int = 30
    welcome_points: int = 0
    qr_minutes: int = 10


def add_months(day, months):
    """The same day `months` later; a day the target month lacks becomes its last day
    (31 Jan + 1 month = 28 or 29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def end_of_day(day, tz):
    """The last microsecond of `day` in time zone `tz`, as an aware UTC datetime."""
    local = datetime.datetime.combine(day, datetime.time.max, tzinfo=zoneinfo.ZoneInfo(tz))
    return local.astimezone(datetime.UTC)


def lot_expiry(earned_at, policy, tz):
    """When points earned at `earned_at` (aware) expire under `policy` in shop time zone `tz`."""
    if policy.mode == "never":
        return None
    local_day = earned_at.astimezone(zoneinfo.ZoneInfo(tz)).date()
    if policy.mode == "year_end":
        return end_of_day(datetime.date(local_day.year, 12, 31), tz)
    return end_of_day(add_months(local_day, policy.months), tz)


def plan_take(lots, points):
    """Take `points` from `lots` [(lot_id, remaining)] in the order given (oldest-expiring
    first). Returns ([(lot_id, taken)], shortfall): never more than a lot holds."""
    if points < 0:
        raise ValueError("points to take are never negative")
    taken, still = [], points
    for lot_id, remaining in lots:
        if still == 0:
            break
        take = min(remaining, still)
        if take > 0:
            taken.append((lot_id, take))
            still -= take
    return taken, still


def consumption_order(lots):
    """Lots [(lot_id, remaining, expires_at)] in the order points are spent: the soonest
    expiry first, never-expiring last, older lots first among equals."""
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return sorted(lots, key=lambda lot: (lot[2] or far, lot[0]))


def points_to_void_for_refund(order_points, order_satang, refunded_satang_total, voided_points_so_far):
    """Points to take back now so that, after refunds totalling `refunded_satang_total`,
    the order keeps points in proportion to what was not refunded (rounding down what it keeps)."""
    if order_satang <= 0:
        raise ValueError("an order has a positive amount")
    refunded = min(refunded_satang_total, order_satang)
    kept = order_points * (order_satang - refunded) // order_satang
    return max(0, order_points - kept - voided_points_so_far)
