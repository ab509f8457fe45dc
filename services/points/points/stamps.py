"""Stamp cards' use cases: card designs and their lifecycle, stamp QR codes, grants, voids,
members' cards closing (expiry, a suspension's reset), statistics and history. Each runs in
the caller's transaction and writes its events to the outbox there (rules: stamp_domain).

    python -m points.stamps --config services/points/config.yaml expire --as-of 2027-01-01T00:00:00+07:00
"""
import argparse
import datetime
import json
import sys
import uuid
import zoneinfo

from chassis import errors as chassis_errors
from chassis import logs
from points import errors, handlers, stamp_contracts, store
from points import stamp_domain as domain
from points.store.stamps import KeyTaken

CHUNK = 20_000
CARD = stamp_contracts.CARD


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (uuid.UUID, datetime.date)):
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    return value


# --- card designs ----------------------------------------------------------------------

def check_rewards(rewards, shop_id, tickets):
    """Every ticket names an active reward of the shop's catalogue that can be issued
    (rewards.get_reward, with the RPC deadline); else ticket_reward_invalid naming the ticket."""
    for index, ticket in enumerate(tickets):
        field = f"tickets.{index}.reward_id"
        try:
            reward = rewards.call("get_reward", {"shop_id": str(shop_id), "reward_id": str(ticket["reward_id"])})
        except chassis_errors.NotFound:
            raise chassis_errors.InvalidInput("ticket_reward_invalid", "a ticket names an unknown reward",
                                              {field: ["no such reward in this shop"]}) from None
        if reward.get("status") != "active" or reward.get("kind") == "delivery":
            raise chassis_errors.InvalidInput(
                "ticket_reward_invalid", "a ticket's reward must be an active in-store or code reward",
                {field: [f"reward is {reward.get('status')} ({reward.get('kind')})"]})


def _with_until(design, tz):
    validity = dict(design["validity"])
    validity["until_at"] = domain.card_validity_end(validity, tz)
    return {**design, "validity": validity}


def _check_design(design):
    problems = domain.design_problems(design)
    if problems:
        raise chassis_errors.InvalidInput("invalid_card_design", "this card design cannot work", problems)


def _current_design(card, tz):
    until = card["valid_until"]
    return {"name": card["name"], "stamps_to_fill": card["stamps_to_fill"],
            "rule": {"mode": card["rule_mode"], "stamps": card["stamps_per_visit"], "per_baht": card["unit_satang"]},
            "tickets": [{"at": t["at"], "reward_id": uuid.UUID(t["reward_id"])} for t in card["tickets"]],
            "welcome_stamps": card["welcome_stamps"], "max_per_purchase": card["max_per_purchase"],
            "terms": card["terms"],
            "validity": {"mode": card["validity_mode"], "days": card["valid_days"],
                         "until": (until.astimezone(tz) - datetime.timedelta(days=1)).date() if until else None}}


def _card_event(outbox, conn, event_type, card, **extra):
    data = CARD.dump(card)
    outbox.add(conn, event_type, 1, card["shop_id"], {**data, **extra})
    return data


def create_card(conn, cmd, outbox, now):
    """A draft card. Idempotent on the key. Refused during the waiting time after a suspension.
    Event: stampcards.created."""
    shop_id = cmd["shop_id"]
    tz = zoneinfo.ZoneInfo(store.stamps.lock_shop(conn, shop_id))
    fingerprint = handlers.fingerprint_of(cmd)
    prior = store.stamps.card_by_key(conn, shop_id, cmd["idempotency_key"])
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return CARD.dump(prior), True
    domain.check_waiting_time(store.stamps.lifecycle_state(conn, shop_id)["last_suspended_at"], now)
    design = {k: cmd[k] for k in domain.DESIGN_FIELDS}
    _check_design(design)
    card = store.stamps.insert_card(conn, card_id=uuid.uuid4(), shop_id=shop_id, design=_with_until(design, tz),
                                    key=cmd["idempotency_key"], fingerprint=fingerprint, now=now)
    return _card_event(outbox, conn, "stampcards.created", card, actor=cmd["actor"]), False


def update_card(conn, cmd, outbox, now):
    """Change a draft's design, or an active card's validity only (card_field_locked otherwise);
    a suspended or deleted card never changes. Members' open cards follow a new validity.
    Event: stampcards.updated (with the changed fields)."""
    tz = zoneinfo.ZoneInfo(store.stamps.lock_shop(conn, cmd["shop_id"]))
    card = store.stamps.card(conn, cmd["shop_id"], cmd["card_id"], lock="no_key")
    current = _current_design(card, tz)
    wanted = {k: cmd[k] for k in domain.DESIGN_FIELDS if k in cmd}
    changed = domain.changed_fields(current, wanted)
    domain.check_edit(card["status"], changed)
    if not changed:
        return CARD.dump(card), False
    design = _with_until({**current, **wanted}, tz)
    _check_design(design)
    updated = store.stamps.update_card(conn, card["card_id"], design, now)
    if card["status"] == "active" and "validity" in changed:
        store.stamps.update_member_expiries(conn, card["card_id"], updated["validity_mode"], updated["valid_until"],
                                            updated["valid_days"], str(tz))
    return _card_event(outbox, conn, "stampcards.updated", updated, changed=changed, actor=cmd["actor"]), True


def activate_card(conn, cmd, outbox, now):
    """draft -> active: one active card per shop (active_card_exists), never a suspended one
    (card_suspended), not during the waiting time (card_waiting_time). Event: stampcards.activated."""
    store.stamps.lock_shop(conn, cmd["shop_id"])
    card = store.stamps.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    state = store.stamps.lifecycle_state(conn, cmd["shop_id"])
    if not domain.check_activation(card["status"], state["active_id"], state["last_suspended_at"], now):
        return CARD.dump(card), False
    if card["validity_mode"] == "date" and now >= card["valid_until"]:
        raise domain.card_expired()
    active = store.stamps.set_status(conn, card["card_id"], "active", now)
    return _card_event(outbox, conn, "stampcards.activated", active, actor=cmd["actor"]), True


def suspend_card(conn, cmd, outbox, now):
    """active -> suspended, with confirm: true (suspension_not_confirmed). Cannot be undone.
    Waits for grants in flight (the card's row lock); members' stamps are reset after
    (`finish_resets`). Event: stampcards.suspended."""
    card = store.stamps.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    if not domain.check_suspension(card["status"], cmd["confirm"]):
        return CARD.dump(card), False
    suspended = store.stamps.set_status(conn, card["card_id"], "suspended", now)
    new_card_from = domain.waiting_until(now).isoformat()
    data = _card_event(outbox, conn, "stampcards.suspended", suspended, actor=cmd["actor"],
                       new_card_from=new_card_from)
    return {**data, "new_card_from": new_card_from}, True


def delete_card(conn, cmd, outbox, now):
    """A draft is deleted (card_not_deletable otherwise). Event: stampcards.deleted."""
    card = store.stamps.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    if not domain.check_delete(card["status"]):
        return CARD.dump(card), False
    deleted = store.stamps.set_status(conn, card["card_id"], "deleted", now)
    return _card_event(outbox, conn, "stampcards.deleted", deleted, actor=cmd["actor"]), True


# --- stamp QR codes and grants -----------------------------------------------------------

def create_qr(conn, cmd, outbox, secret, now):
    """Staff's one-time stamp QR for a purchase: the stamps the active card gives for it, valid
    for the shop's QR minutes, claimable once. Idempotent on the key. Event: stamps.qr_created."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(cmd)
    store.sales.earn_context(conn, shop_id, cmd["branch_id"], need_rule=False)  # the shop and branch exist
    prior = store.stamps.qr_by_key(conn, shop_id, cmd["idempotency_key"])
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return _qr_result(prior, secret), True
    card = store.stamps.active_card(conn, shop_id)
    domain.card_usable(card, now)
    stamps = domain.stamps_for_purchase(card, cmd["amount"])
    if stamps < 1:
        raise domain.no_stamps_for_purchase()
    qr_id = uuid.uuid4()
    expires_at = now + datetime.timedelta(minutes=store.stamps.qr_minutes(conn, shop_id))
    if store.stamps.insert_qr(conn, qr_id=qr_id, shop_id=shop_id, card_id=card["card_id"],
                              branch_id=cmd["branch_id"], amount_satang=cmd["amount"], stamps=stamps,
                              created_by_type=cmd["actor"]["type"], created_by_id=cmd["actor"].get("id"),
                              idempotency_key=cmd["idempotency_key"], fingerprint=fingerprint, now=now,
                              expires_at=expires_at) is None:
        raise KeyTaken()
    qr = store.stamps.qr(conn, shop_id, qr_id)
    outbox.add(conn, "stamps.qr_created", 1, shop_id, {
        "qr_id": str(qr_id), "card_id": str(card["card_id"]), "branch_id": str(cmd["branch_id"]),
        "amount_satang": cmd["amount"], "stamps": stamps, "expires_at": expires_at.isoformat(),
        "actor": cmd["actor"]})
    return _qr_result(qr, secret), False


def _qr_result(qr, secret):
    return {"qr_id": str(qr["qr_id"]), "card_id": str(qr["card_id"]), "branch_id": str(qr["branch_id"]),
            "amount_satang": qr["amount_satang"], "stamps": qr["stamps"],
            "token": domain.one_time_token(secret, qr["shop_id"], qr["qr_id"], qr["expires_at"]),
            "expires_at": qr["expires_at"].isoformat(), "claimed": qr["claimed_at"] is not None}


def read_qr(conn, shop_id, qr_id, secret):
    qr = store.stamps.qr(conn, shop_id, qr_id)
    if qr is None:
        raise errors.qr_not_found(qr_id)
    return _qr_result(qr, secret)


def claim(conn, cmd, outbox, secret, now):
    """A member's scan of a stamp QR (either kind). Returns (result, replayed)."""
    kind, ident = domain.read_token(secret, cmd["shop_id"], cmd["token"])
    if kind == "one_time":
        return _claim_one_time(conn, cmd, outbox, ident, now)
    return _claim_printed(conn, cmd, outbox, ident, now)


def _claim_one_time(conn, cmd, outbox, qr_id, now):
    shop_id, phone, key = cmd["shop_id"], cmd["phone"], f"stamp_qr:{qr_id}"
    row = store.stamps.claim_one_time(conn, shop_id, qr_id, phone, now)
    if row is None:
        qr = store.stamps.qr(conn, shop_id, qr_id)
        if qr is None:
            raise domain.qr_invalid()
        if qr["claimed_phone"] == phone:
            return replay(conn, shop_id, key, key), True
        raise domain.qr_used() if qr["claimed_at"] is not None else domain.qr_expired()
    domain.card_usable(row, now)
    return _grant(conn, outbox, shop_id=shop_id, phone=phone, context=row, granted=row["qr_stamps"], now=now,
                  branch_id=row["branch_id"], source="one_time_qr", key=key, fingerprint=key,
                  ref=f"qr:{qr_id}"), False


def _claim_printed(conn, cmd, outbox, ident, now):
    shop_id, phone, key = cmd["shop_id"], cmd["phone"], cmd["idempotency_key"]
    if not key:
        raise chassis_errors.InvalidInput("invalid_idempotency_key", "a printed code's scan needs an idempotency key",
                                          {"idempotency_key": ["required for a printed QR code"]})
    branch_id, generation = ident
    fingerprint = handlers.fingerprint_of(cmd)
    row = store.stamps.claim_printed(conn, shop_id, branch_id, generation, phone, key, now)
    if row is None:
        raise store.Missing(shop_id)
    if row["prior_entry_id"] is not None:
        return replay(conn, shop_id, key, fingerprint), True
    if row["enabled"] is None or row["generation"] != generation:
        raise domain.qr_invalid()
    if not row["enabled"]:
        raise domain.printed_qr_disabled()
    domain.card_usable(row if row["card_id"] else None, now)
    if row["scans"] is None:
        raise domain.daily_limit_reached(row["daily_limit"])
    return _grant(conn, outbox, shop_id=shop_id, phone=phone, context=row, granted=row["printed_stamps"],
                  now=now, branch_id=branch_id, source="printed_qr", key=key, fingerprint=fingerprint,
                  ref=f"printed:{branch_id}:{generation}"), False


def _grant(conn, outbox, *, shop_id, phone, context, granted, now, branch_id, source, key, fingerprint, ref):
    """The grant itself, on the member's card row locked by the claim: entries, tickets, events."""
    tz = zoneinfo.ZoneInfo(context["timezone"])
    member = {"stamps": context["held"], "card_no": context["card_no"], "started_at": context["started_at"],
              "expires_at": context["expires_at"]}
    welcome = context["welcome_stamps"] if context["entry_seq"] == 0 else 0
    plan = domain.plan_grant(member, context, granted, now, tz, welcome)
    for entry in plan["entries"]:
        if entry["kind"] == "grant":
            entry.update(idempotency_key=key, fingerprint=fingerprint)
    tickets = [(uuid.uuid4(), card_no, at, uuid.UUID(str(reward))) for card_no, at, reward in plan["tickets"]]
    actor = {"type": "member", "id": None}  # the phone names the member; no copy
    card_id = context["card_id"]
    summary = {"card_id": str(card_id), "card_name": context["name"], "phone": phone, "stamps": granted,
               "welcome_stamps": welcome, "stamps_after": plan["stamps_after"],
               "stamps_to_fill": context["stamps_to_fill"], "card_no": plan["card_no"],
               "cards_filled": len(plan["filled"])}
    events = [("stamps.granted", shop_id, {"entry_id": None, **summary, "branch_id": str(branch_id),
                                            "source": source, "actor": actor}, None)]
    events += [("stamps.ticket_earned", shop_id, {
        "entry_id": None, "ticket_id": str(ticket_id), "card_id": str(card_id), "card_name": context["name"],
        "phone": phone, "card_no": card_no, "at_stamps": at, "reward_id": str(reward_id),
        "branch_id": str(branch_id)}, ticket_id) for ticket_id, card_no, at, reward_id in tickets]
    events += [("stamps.card_completed", shop_id, {
        "entry_id": None, "card_id": str(card_id), "phone": phone, "card_no": card_no,
        "stamps_to_fill": context["stamps_to_fill"], "next_card_no": card_no + 1,
        "carried_over": plan["stamps_after"] if card_no == plan["filled"][-1] else context["stamps_to_fill"],
        "branch_id": str(branch_id)}, None) for card_no in plan["filled"]]
    row = store.stamps.grant(conn, entries=plan["entries"], tickets=tickets, events=events,
                             headers=getattr(outbox, "headers", None), shop_id=shop_id, card_id=card_id,
                             phone=phone, branch_id=branch_id, source=source, actor_type="member",
                             actor_id=None, ref=ref, now=now)
    written = {e["kind"]: e for e in row["entries"]}
    new_tickets = set(row["tickets"])
    result = {"entry_id": written["grant"]["entry_id"], **summary,
              "tickets": [{"ticket_id": str(t[0]), "card_no": t[1], "at_stamps": t[2], "reward_id": str(t[3])}
                          for t in tickets if t[0] in new_tickets]}
    if "expire" in written:
        outbox.add(conn, "stamps.expired", 1, shop_id, {
            "card_id": str(card_id), "phone": phone, "stamps": member["stamps"], "card_no": member["card_no"],
            "as_of": now.isoformat()})
    return result


def replay(conn, shop_id, key, fingerprint):
    """The first answer to a grant's key (idempotency_key_reused if the request differs)."""
    prior = store.stamps.grant_by_key(conn, shop_id, key)
    if prior is None:
        raise domain.qr_invalid()
    if prior["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    tickets = store.stamps.tickets(conn, prior["tickets"])
    return {"entry_id": prior["entry_id"], "card_id": str(prior["card_id"]), "phone": prior["phone"],
            "stamps": prior["stamps"], "welcome_stamps": prior["welcome"], "stamps_after": prior["stamps_after"],
            "stamps_to_fill": prior["stamps_to_fill"], "card_no": prior["card_no_after"],
            "cards_filled": prior["card_no_after"] - prior["card_no"],
            "tickets": [{"ticket_id": str(t["ticket_id"]), "card_no": t["card_no"], "at_stamps": t["at_stamps"],
                         "reward_id": str(t["reward_id"])} for t in tickets]}


# --- printed codes -------------------------------------------------------------------------

def set_printed(conn, cmd, outbox, secret):
    """Enable or disable a branch's printed stamp QR, its stamps per scan and daily limit per
    member; `regenerate` makes earlier prints worthless. Event: stamps.printed_qr_changed."""
    store.stamps.lock_shop(conn, cmd["shop_id"], cmd["branch_id"])
    saved = store.stamps.save_printed(conn, **{k: cmd[k] for k in (
        "branch_id", "shop_id", "enabled", "stamps", "daily_limit", "regenerate")})
    result = printed_result(saved, secret)
    outbox.add(conn, "stamps.printed_qr_changed", 1, cmd["shop_id"],
               {**{k: v for k, v in result.items() if k != "token"}, "actor": cmd["actor"]})
    return result


def printed_result(printed, secret):
    return {"branch_id": str(printed["branch_id"]), "enabled": printed["enabled"], "stamps": printed["stamps"],
            "daily_limit": printed["daily_limit"], "generation": printed["generation"],
            "token": domain.printed_token(secret, printed["shop_id"], printed["branch_id"], printed["generation"])}


# --- voids ----------------------------------------------------------------------------------

def void(conn, cmd, outbox, now):
    """Take back the stamps of a grant, with a reason, once. Never below zero, never from a card
    already filled or expired (reported as unrecovered). Idempotent on the key.
    Event: stamps.voided."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(cmd)
    target = store.stamps.entry(conn, shop_id, cmd["entry_id"])
    if cmd["at_branch"] is not None and target["branch_id"] != cmd["at_branch"]:
        raise errors.wrong_branch()
    member = store.stamps.lock_member(conn, target["card_id"], target["phone"])
    prior = store.stamps.void_of(conn, target["entry_id"])
    if prior is not None:
        if prior["idempotency_key"] != cmd["idempotency_key"] or prior["fingerprint"] != fingerprint:
            raise errors.already_voided()
        return _void_result(target, prior["entry_id"], -prior["stamps"], prior["unrecovered"],
                            prior["stamps_after"], cmd["reason"]), True
    taken, unrecovered = domain.plan_void(member, target)
    try:
        row = store.stamps.insert_void(
            conn, shop_id=shop_id, card_id=target["card_id"], phone=target["phone"], stamps=-taken,
            card_no=member["card_no"], started_at=member["started_at"], expires_at=member["expires_at"],
            branch_id=target["branch_id"], actor_type=cmd["actor"]["type"], actor_id=cmd["actor"].get("id"),
            reason=cmd["reason"], ref_entry_id=target["entry_id"], unrecovered=unrecovered,
            key=cmd["idempotency_key"], fingerprint=fingerprint, now=now)
    except KeyTaken:
        raise errors.idempotency_key_reused() from None
    result = _void_result(target, row["entry_id"], taken, unrecovered, row["stamps_after"], cmd["reason"])
    outbox.add(conn, "stamps.voided", 1, shop_id, {**result, "actor": cmd["actor"]})
    return result, False


def _void_result(target, entry_id, taken, unrecovered, stamps_after, reason):
    return {"void_entry_id": entry_id, "entry_id": target["entry_id"], "card_id": str(target["card_id"]),
            "phone": target["phone"], "requested": target["stamps"], "recovered": taken,
            "unrecovered": unrecovered, "stamps_after": stamps_after, "reason": reason}


# --- closing members' cards (jobs, as of any time) ---------------------------------------------

def _exclusive(db, name, run):
    with db.connection() as guard:
        if not store.stamps.try_lock(guard, name):
            return {"skipped": "another run is in progress"}
        try:
            return run()
        finally:
            store.stamps.unlock(guard, name)


def _closing_events(outbox, conn, event_type, rows, at):
    return outbox.add_many(conn, event_type, 1, ((row["shop_id"], {
        "card_id": str(row["card_id"]), "phone": row["phone"], "stamps": row["stamps"], "card_no": row["card_no"],
        "as_of": at.isoformat()}) for row in rows if row["stamps"] > 0))


def expire_members(db, outbox, as_of, now, chunk=CHUNK):
    """Close every member's card whose validity ended before `as_of`: its stamps expire (one
    stamps.expired each), the next stamp starts a new card. Safe to run twice."""
    def run():
        totals = {"cards": 0, "stamps": 0}
        while True:
            with db.transaction() as conn:
                rows = store.stamps.close_chunk(conn, "expire", store.stamps.EXPIRE_WHERE, now, chunk, as_of=as_of)
                if not rows:
                    return totals
                _closing_events(outbox, conn, "stamps.expired", rows, as_of)
            totals["cards"] += len(rows)
            totals["stamps"] += sum(row["stamps"] for row in rows)

    return _exclusive(db, "stamps.expire", run)


def finish_resets(db, outbox, now, chunk=CHUNK):
    """Reset every member's stamps of each suspended card not reset yet (stamps.reset each), then
    mark the card reset. Safe to run twice and to resume."""
    def run():
        totals = {"cards": 0, "members": 0, "stamps": 0}
        with db.connection() as conn:
            pending = store.stamps.suspended_pending(conn)
        for card in pending:
            while True:
                with db.transaction() as conn:
                    rows = store.stamps.close_chunk(conn, "reset", store.stamps.RESET_WHERE, now, chunk,
                                                    card_id=card["card_id"])
                    if not rows:
                        store.stamps.reset_done(conn, card["card_id"], now)
                        break
                    _closing_events(outbox, conn, "stamps.reset", rows, now)
                totals["members"] += len(rows)
                totals["stamps"] += sum(row["stamps"] for row in rows)
            totals["cards"] += 1
        return totals

    return _exclusive(db, "stamps.reset", run)


# --- reads ------------------------------------------------------------------------------------

def member_stamps(conn, cmd):
    """A member's cards (stamps held, card number, expiry), stamp history (newest first, in
    pages) and reward tickets."""
    shop_id, phone = cmd["shop_id"], cmd["phone"]
    cards = [{"card_id": str(c["card_id"]), "name": c["name"], "status": c["status"],
              "stamps_to_fill": c["stamps_to_fill"], "stamps": c["stamps"], "card_no": c["card_no"],
              "started_at": c["started_at"], "expires_at": c["expires_at"], "cards_completed": c["cards_completed"],
              "next_ticket_at": next((t["at"] for t in sorted(c["tickets"], key=lambda t: t["at"])
                                      if t["at"] > c["stamps"]), None)}
             for c in store.stamps.member_cards(conn, shop_id, phone)]
    entries = store.stamps.member_entries(conn, shop_id, phone, cmd["limit"], cmd["before"])
    return {"phone": phone, "cards": _jsonable(cards),
            "entries": stamp_contracts.ENTRY.dump(entries, many=True),
            "tickets": stamp_contracts.TICKET.dump(store.stamps.member_tickets(conn, shop_id, phone), many=True),
            "next_before": entries[-1]["entry_id"] if len(entries) == cmd["limit"] else None}


def stats(conn, cmd, now):
    """Per shop day and branch: cards issued, stamps given and voided, tickets issued and used.
    Up to the previous shop day, or with `live` up to now."""
    tz_name = store.stamps.shop_tz(conn, cmd["shop_id"])
    tz = zoneinfo.ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    start, end, last = domain.stats_window(cmd["since"], cmd["until"], today, cmd["live"], tz)
    rows = store.stamps.stats(conn, cmd["shop_id"], tz_name, start, min(end, now) if cmd["live"] else end,
                              cmd["branch_id"]) if last >= cmd["since"] else []
    keys = ("cards_issued", "stamps_given", "stamps_voided", "tickets_issued", "tickets_used")
    return {"shop_id": str(cmd["shop_id"]), "timezone": tz_name, "since": cmd["since"].isoformat(),
            "until": last.isoformat(), "live": cmd["live"], "as_of": now.isoformat(),
            "rows": [{"day": r["day"].isoformat(), "branch_id": str(r["branch_id"]) if r["branch_id"] else None,
                      **{k: int(r[k]) for k in keys}} for r in rows],
            "totals": {k: sum(int(r[k]) for r in rows) for k in keys}}


# --- the rewards service's coupons for tickets ------------------------------------------------

def ticket_coupons_issued(conn, event):
    if event["data"]["source"] != "stamp_card" or not event["data"]["source_ref"]:
        return
    for coupon in event["data"]["coupons"]:
        store.stamps.set_ticket_coupon(conn, event["shop_id"], event["data"]["source_ref"], coupon.get("coupon_id"),
                                       coupon.get("code"))


def ticket_used(conn, event, used):
    data = event["data"]
    if data["source"] != "stamp_card" or not data["source_ref"]:
        return
    store.stamps.set_ticket_used(conn, event["shop_id"], data["source_ref"], data["used_at"] if used else None,
                                 data["used_branch_id"] if used else None)


def main(argv=None):
    from chassis import config as config_module
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox

    parser = argparse.ArgumentParser(description="stamp card jobs, run as of a given time")
    parser.add_argument("--config", required=True)
    parser.add_argument("job", choices=["expire", "reset"])
    parser.add_argument("--as-of", type=datetime.datetime.fromisoformat,
                        default=datetime.datetime.now(datetime.UTC))
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone (e.g. 2027-01-01T00:00:00+07:00)")
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
    db, outbox, now = Store(pool), WorkerOutbox({}), datetime.datetime.now(datetime.UTC)
    try:
        if args.job == "expire":
            result = expire_members(db, outbox, args.as_of, now)
        else:
            result = finish_resets(db, outbox, now)
    finally:
        pool.close()
    logs.get_logger("points.stamps").info(f"stamps_{args.job}_done", **result)
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
