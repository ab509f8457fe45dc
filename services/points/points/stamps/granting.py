"""Stamp QR codes (staff's one-time codes, branches' printed codes), members' scans and the
grants they make, and voids of grants. Each runs in the caller's transaction and writes its
events to the outbox there."""
import datetime
import uuid
import zoneinfo

from chassis import errors as chassis_errors
from points import errors, handlers, store
from points import stamp_domain as domain
from points.store.stamp_ledger import KeyTaken

# --- stamp QR codes and grants -----------------------------------------------------------

def create_qr(conn, cmd, outbox, secret, now):
    """Staff's one-time stamp QR for a purchase: the stamps the active card gives for it, valid
    for the shop's QR minutes, claimable once. Idempotent on the key. Event: stamps.qr_created."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(cmd)
    store.sales.earn_context(conn, shop_id, cmd["branch_id"], need_rule=False)  # the shop and branch exist
    prior = store.stamp_cards.qr_by_key(conn, shop_id, cmd["idempotency_key"])
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return _qr_result(prior, secret), True
    card = store.stamp_cards.active_card(conn, shop_id)
    domain.card_usable(card, now)
    stamps = domain.stamps_for_purchase(card, cmd["amount"])
    if stamps < 1:
        raise domain.no_stamps_for_purchase()
    qr_id = uuid.uuid4()
    expires_at = now + datetime.timedelta(minutes=store.stamp_cards.qr_minutes(conn, shop_id))
    if store.stamp_cards.insert_qr(conn, qr_id=qr_id, shop_id=shop_id, card_id=card["card_id"],
                                   branch_id=cmd["branch_id"], amount_satang=cmd["amount"], stamps=stamps,
                                   created_by_type=cmd["actor"]["type"], created_by_id=cmd["actor"].get("id"),
                                   idempotency_key=cmd["idempotency_key"], fingerprint=fingerprint, now=now,
                                   expires_at=expires_at) is None:
        raise KeyTaken()
    qr = store.stamp_cards.qr(conn, shop_id, qr_id)
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
    qr = store.stamp_cards.qr(conn, shop_id, qr_id)
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
    row = store.stamp_ledger.claim_one_time(conn, shop_id, qr_id, phone, now)
    if row is None:
        qr = store.stamp_cards.qr(conn, shop_id, qr_id)
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
    row = store.stamp_ledger.claim_printed(conn, shop_id, branch_id, generation, phone, key, now)
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
    row = store.stamp_ledger.grant(conn, entries=plan["entries"], tickets=tickets, events=events,
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
    prior = store.stamp_ledger.grant_by_key(conn, shop_id, key)
    if prior is None:
        raise domain.qr_invalid()
    if prior["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    tickets = store.stamp_ledger.tickets(conn, prior["tickets"])
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
    store.stamp_cards.lock_shop(conn, cmd["shop_id"], cmd["branch_id"])
    saved = store.stamp_cards.save_printed(conn, **{k: cmd[k] for k in (
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
    target = store.stamp_ledger.entry(conn, shop_id, cmd["entry_id"])
    if cmd["at_branch"] is not None and target["branch_id"] != cmd["at_branch"]:
        raise errors.wrong_branch()
    member = store.stamp_ledger.lock_member(conn, target["card_id"], target["phone"])
    prior = store.stamp_ledger.void_of(conn, target["entry_id"])
    if prior is not None:
        if prior["idempotency_key"] != cmd["idempotency_key"] or prior["fingerprint"] != fingerprint:
            raise errors.already_voided()
        return _void_result(target, prior["entry_id"], -prior["stamps"], prior["unrecovered"],
                            prior["stamps_after"], cmd["reason"]), True
    taken, unrecovered = domain.plan_void(member, target)
    try:
        row = store.stamp_ledger.insert_void(
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
