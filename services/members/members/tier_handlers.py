"""Use cases of member tiers, each inside the caller's transaction: settings, the
projection of points events with the upgrade on each earn, reads, the dry run."""
import datetime

from chassis import logs
from members import store, tier_contracts, tier_store, tiers

log = logs.get_logger("members.tiers")
SETTINGS_CHANGED = tier_contracts.TierSettingsChanged()


def settings_view(settings, tier_rows=None):
    """Settings as the RPC answers them: tiers with ids (when known) and max_points."""
    ids = {row["name"]: row["tier_id"] for row in tier_rows or ()}
    listed = settings["tiers"]
    out = [{"tier_id": ids.get(t["name"]), "name": t["name"], "threshold": t["threshold"], "position": index + 1,
            "max_points": listed[index + 1]["threshold"] - 1 if index + 1 < len(listed) else None}
           for index, t in enumerate(listed)]
    downgrade = {"mode": settings["downgrade_mode"]}
    downgrade.update({"months": settings["expiry_months"]} if settings["downgrade_mode"] == "tier_expiry"
                     else {"cycle": settings["cycle"]})
    return {"shop_id": settings["shop_id"], "version": settings["version"], "tiers": out,
            "window_months": settings["window_months"], "downgrade": downgrade, "created_at": settings["created_at"]}


def _row(cmd):
    down = cmd["downgrade"]
    return {"shop_id": cmd["shop_id"], "window_months": cmd["window_months"], "downgrade_mode": down["mode"],
            "expiry_months": down["months"], "cycle": down["cycle"],
            "tiers": [{"name": t["name"], "threshold": t["threshold"]} for t in cmd["tiers"]]}


def set_settings(conn, cmd, outbox):
    """A new settings version, unless the terms equal the current ones (then the current
    version, changed False). Event: members.tier_settings_changed."""
    store.get_shop(conn, cmd["shop_id"])
    tier_store.lock_shop(conn, cmd["shop_id"])
    proposed = _row(cmd)
    current = tier_store.current_settings(conn, cmd["shop_id"])
    if current is not None and tiers.terms(current) == tiers.terms(proposed):
        return {**settings_view(current, tier_store.shop_tiers(conn, [cmd["shop_id"]])), "changed": False}
    version = 1 if current is None else current["version"] + 1
    saved = tier_store.insert_settings(conn, version=version, **proposed)
    tier_store.sync_tiers(conn, cmd["shop_id"], version, proposed["tiers"])
    view = settings_view(saved, tier_store.shop_tiers(conn, [cmd["shop_id"]]))
    outbox.add(conn, "members.tier_settings_changed", 1, cmd["shop_id"], SETTINGS_CHANGED.dump(view))
    return {**view, "changed": True}


def get_settings(conn, shop_id):
    settings = tier_store.settings_or_404(conn, shop_id)
    return settings_view(settings, tier_store.shop_tiers(conn, [shop_id]))


def apply_points(conn, events, bodies, outbox):
    """Tiers' part of the points projection (same transaction, events already claimed in the
    inbox): points received per member and shop day, then the upgrade as of each credit.

    `events` are the fresh envelopes; `bodies` the raw batch, read again with tiers' own
    schema (the members projection keeps only what it needs). Returns the decisions made."""
    raw = {str(body.get("event_id")): body for body in bodies if isinstance(body, dict)}
    daily, credits = [], []
    for event in events:
        body = raw.get(str(event["event_id"]))
        try:
            data = tier_contracts.TIER_POINTS_DATA.load(body["data"])
        except Exception:  # noqa: BLE001 - the members projection validated what it needs; tiers skip
            log.warning("tier_event_skipped", event_id=str(event["event_id"]), type=event["type"])
            continue
        points = tiers.received_points(event["type"], data)
        if points == 0:
            continue
        key = (event["shop_id"], event["data"]["phone"], event["occurred_at"])
        if points > 0:
            daily.append((*key, points))
            credits.append(key)
        else:  # a voided credit stops counting on the day it was received (older events: the void's day)
            daily.append((event["shop_id"], event["data"]["phone"], data["target_at"] or event["occurred_at"],
                          points))
    tier_store.record_daily(conn, daily)
    return upgrade(conn, credits, outbox)


def upgrade(conn, credits, outbox):
    """Evaluate each member as of each of their credits (shop_id, phone, occurred_at): the
    highest tier reached (at the earliest credit reaching it) becomes theirs if it is up."""
    windows = tier_store.earn_windows(conn, credits)
    if not windows:
        return []
    by_shop = {}
    for row in tier_store.shop_tiers(conn, {w["shop_id"] for w in windows}):
        by_shop.setdefault(row["shop_id"], []).append(row)
    best = {}
    for window in sorted(windows, key=lambda w: w["at"]):
        rows = by_shop.get(window["shop_id"], [])
        active = [r for r in rows if r["position"] is not None]
        held_id = best[window["member_id"]]["to_tier_id"] if window["member_id"] in best else window["tier_id"]
        held = next((r for r in rows if r["tier_id"] == held_id), None)
        outcome = tiers.on_earn(held, tiers.tier_for(window["window_points"], active))
        if outcome is None:
            continue
        reached, reason = outcome
        first = best.get(window["member_id"])
        best[window["member_id"]] = {
            "member_id": window["member_id"], "shop_id": window["shop_id"], "phone": window["phone"],
            "decided_at": window["at"], "reason": first["reason"] if first else reason,
            "from_tier_id": window["tier_id"], "from_tier": _name(rows, window["tier_id"]),
            "to_tier_id": reached["tier_id"], "to_tier": reached["name"], "window_points": window["window_points"],
            "window_start": window["window_start"], "window_end": window["window_end"],
            "settings_version": window["version"]}
    decisions = tier_store.apply_decisions(conn, list(best.values()))
    phones = {d["member_id"]: d["phone"] for d in best.values()}
    for decision in decisions:
        outbox.add(conn, "members.tier_changed", 1, decision["shop_id"],
                   tier_contracts.TIER_CHANGED.dump({**decision, "phone": phones[decision["member_id"]]}))
    return decisions


def _name(rows, tier_id):
    return next((r["name"] for r in rows if r["tier_id"] == tier_id), None)


def member_tier(conn, shop_id, member_id, now):
    """The member's tier, when it expires (tier_expiry), the window points as of now, and
    the latest decision with its inputs."""
    member = tier_store.member_tier(conn, shop_id, member_id)
    settings = tier_store.current_settings(conn, shop_id)
    answer = {**member, "tier": None, "tier_expires_at": None, "window_points": 0, "window_start": None,
              "window_end": None, "settings_version": None}
    if member["tier_id"] is not None:
        answer["tier"] = {"tier_id": member["tier_id"], "name": member["name"], "threshold": member["threshold"],
                          "position": member["position"], "max_points": None}
    if settings is not None:
        start, end = tiers.window(tiers.local_day(now, member["timezone"]), settings["window_months"])
        answer.update(window_start=start, window_end=end, settings_version=settings["version"],
                      window_points=tier_store.window_sum(conn, member_id, start, end))
        if settings["downgrade_mode"] == "tier_expiry" and member["tier_reached_at"] is not None:
            answer["tier_expires_at"] = tiers.tier_expires_at(member["tier_reached_at"], settings["expiry_months"],
                                                              member["timezone"])
    latest = tier_store.history(conn, shop_id, member_id, 1)
    answer["decision"] = latest[0] if latest else None
    return answer


def history(conn, cmd):
    tier_store.member_tier(conn, cmd["shop_id"], cmd["member_id"])
    rows = tier_store.history(conn, cmd["shop_id"], cmd["member_id"], cmd["limit"] + 1, cmd["before"])
    page = rows[:cmd["limit"]]
    return {"decisions": page, "next_before": page[-1]["decision_id"] if len(rows) > cmd["limit"] else None}


def dry_run(conn, cmd, now):
    """How many of the shop's members would move up, down or stay if these settings were
    applied as of `as_of` (default now), each member placed by their window points. Nothing
    is written."""
    shop = store.get_shop(conn, cmd["shop_id"])
    as_of = cmd.get("as_of") or now
    start, end = tiers.window(tiers.local_day(as_of, shop["timezone"]), cmd["window_months"])
    proposed = cmd["tiers"]
    counts = {"up": 0, "down": 0, "stay": 0}
    by_tier = {t["name"]: 0 for t in proposed}
    total = 0
    for group in tier_store.dry_run(conn, cmd["shop_id"], start, end, [t["threshold"] for t in proposed]):
        position = group["proposed_position"]
        counts[tiers.movement(group["held_name"], group["held_threshold"], position, proposed)] += group["members"]
        if position:
            by_tier[proposed[position - 1]["name"]] += group["members"]
        total += group["members"]
    return {**counts, "members": total, "by_tier": by_tier, "as_of": as_of, "window_start": start,
            "window_end": end}


def now():
    return datetime.datetime.now(datetime.UTC)
