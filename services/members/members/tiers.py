"""Tier rules without I/O: settings checks, points received, windows, cycle ends, decisions.

A window of W months as of a moment is counted in whole shop-local days: from the
same day W months earlier up to and including the day of the moment (as of 1 May
2022, "last 1 month" is 1 April - 1 May 2022). A cycle ends at the end of its last
day in the shop's time zone.
"""
import calendar
import datetime
import zoneinfo

MAX_TIERS = 5
WINDOW_MONTHS = (1, 3, 6, 12)
DOWNGRADE_MODES = ("tier_expiry", "cycle")
CYCLES = ("monthly", "quarterly", "half_yearly", "yearly")
MAX_EXPIRY_MONTHS = 36
REASONS = ("upgrade", "cycle_end", "tier_expired", "settings_changed")
# The month a cycle ends in, for each kind of cycle.
CYCLE_MONTHS = {"monthly": range(1, 13), "quarterly": (3, 6, 9, 12), "half_yearly": (6, 12), "yearly": (12,)}
# Credits voided whose points stop counting as received (a spend given back is not received).
VOIDED_CREDITS = ("earn", "welcome", "adjust")


def tier_errors(tiers):
    """Field errors of a list of tiers [{name, threshold, max_points}] (empty: valid).

    At most 5; names unique (ignoring case and surrounding spaces); thresholds strictly
    increasing; a tier's max_points, when given, ends just below the next threshold
    (no overlap, no gap) and the last tier has none."""
    errors = {}
    if len(tiers) > MAX_TIERS:
        return {"tiers": [f"at most {MAX_TIERS} tiers, got {len(tiers)}"]}
    seen = {}
    for index, tier in enumerate(tiers):
        key = tier["name"].strip().casefold()
        if key in seen:
            errors[f"tiers.{index}.name"] = [f"duplicate name: tier {seen[key]} is also {tier['name']!r}"]
        seen.setdefault(key, index)
        if index > 0 and tier["threshold"] <= tiers[index - 1]["threshold"]:
            errors[f"tiers.{index}.threshold"] = [
                f"must be greater than the threshold of tier {index - 1} ({tiers[index - 1]['threshold']}): "
                "tiers are listed from the lowest, thresholds strictly increasing"]
        top = tier.get("max_points")
        if top is None:
            continue
        if index == len(tiers) - 1:
            errors[f"tiers.{index}.max_points"] = ["the highest tier has no maximum"]
        elif top < tier["threshold"]:
            errors[f"tiers.{index}.max_points"] = [f"must be at least the threshold ({tier['threshold']})"]
        elif top != tiers[index + 1]["threshold"] - 1:
            word = "overlaps" if top >= tiers[index + 1]["threshold"] else "leaves a gap before"
            errors[f"tiers.{index}.max_points"] = [
                f"{word} the next tier: must be {tiers[index + 1]['threshold'] - 1} "
                f"(next threshold {tiers[index + 1]['threshold']} - 1)"]
    return errors


def terms(settings):
    """What makes two settings the same: tiers (name, threshold), window, downgrade rule."""
    return (tuple((t["name"], int(t["threshold"])) for t in settings["tiers"]), int(settings["window_months"]),
            settings["downgrade_mode"], settings.get("expiry_months"), settings.get("cycle"))


def received_points(event_type, data):
    """How an event moves a member's points received: credits count, voided credits are
    taken off; spending, expiry and negative adjustments do not reduce it."""
    points = data.get("points") or 0
    if event_type in ("points.earned", "points.adjusted"):
        return max(points, 0)
    if event_type == "points.voided" and data.get("target_kind") in VOIDED_CREDITS:
        return -abs(data.get("requested") if data.get("requested") is not None else points)
    return 0


def add_months(day, months):
    """The same day `months` later (or earlier, if negative); a day the target month lacks
    becomes its last day (31 March - 1 month = 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def local_day(moment, tz):
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).date()


def window(day, months):
    """(first day, last day) of the window of `months` months ending on `day`, both included."""
    return add_months(day, -months), day


def end_of_day(day, tz):
    """The moment `day` ends in time zone `tz` (the next day's midnight), as UTC."""
    following = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), zoneinfo.ZoneInfo(tz))
    return following.astimezone(datetime.UTC)


def last_cycle_end(as_of, cycle, tz):
    """The last day of the latest cycle that has ended by `as_of` (shop time)."""
    today = local_day(as_of, tz)
    year, month = today.year, today.month - 1  # the month before today's is the latest that ended
    while True:
        if month == 0:
            year, month = year - 1, 12
        if month in CYCLE_MONTHS[cycle]:
            return datetime.date(year, month, calendar.monthrange(year, month)[1])
        month -= 1


MAX_CATCH_UP = 24


def due_cycle_ends(as_of, cycle, tz, last_done=None, started_at=None, limit=MAX_CATCH_UP):
    """The cycle ends (last days, shop time) due as of `as_of` and not evaluated yet, oldest
    first: after `last_done` (the latest end evaluated) and after the tiers began
    (`started_at`); a job that was stopped catches up at most `limit` of them (the latest)."""
    due, day = [], last_cycle_end(as_of, cycle, tz)
    while len(due) < limit:
        if last_done is not None and day <= last_done:
            break
        if started_at is not None and end_of_day(day, tz) <= started_at:
            break
        due.append(day)
        noon = datetime.datetime.combine(day, datetime.time(12), zoneinfo.ZoneInfo(tz))
        day = last_cycle_end(noon, cycle, tz)  # the end before it
    return list(reversed(due))


def tier_expires_at(reached_at, months, tz):
    """When a tier reached at `reached_at` expires: `months` later, same local time."""
    zone = zoneinfo.ZoneInfo(tz)
    local = reached_at.astimezone(zone)
    later = add_months(local.date(), months)
    return datetime.datetime.combine(later, local.timetz().replace(tzinfo=None), zone).astimezone(datetime.UTC)


def tier_for(points, tiers):
    """The highest of `tiers` (ordered by threshold, lowest first) that `points` reach, or None."""
    reached = None
    for tier in tiers:
        if points >= tier["threshold"]:
            reached = tier
    return reached


def on_earn(held, justified):
    """The decision after an earn: (new tier, reason) or None to keep the held tier.

    `held` is the member's tier row (position None: a tier the settings no longer have),
    `justified` the tier their window points reach now. Never down on an earn; a retired
    tier gives way to any tier the points reach."""
    if justified is None:
        return None
    if held is None:
        return justified, "upgrade"
    if held["position"] is None:
        return justified, "settings_changed"
    if justified["position"] > held["position"]:
        return justified, "upgrade"
    return None


def movement(held_name, held_threshold, proposed_position, proposed):
    """'up', 'down' or 'stay' for a member holding a tier (name, threshold; None: no tier)
    whom proposed tiers (ordered) would place at `proposed_position` (0: none). The held
    tier ranks where its name stands among the proposed tiers, else by its threshold."""
    if held_name is None:
        held_position = 0
    else:
        names = [t["name"] for t in proposed]
        held_position = (names.index(held_name) + 1 if held_name in names
                         else sum(1 for t in proposed if t["threshold"] <= held_threshold))
    if proposed_position > held_position:
        return "up"
    return "down" if proposed_position < held_position else "stay"
