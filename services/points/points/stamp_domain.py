"""Stamp cards' rules, pure (no I/O): the card lifecycle and which fields may change when,
stamps per purchase, reward tickets, what a filled card carries over, the waiting time
after a suspension, a member's card validity, and the signed stamp QR tokens.

Decisions (docs/_pending/stamps.md): a new card may be created (or a draft activated)
24 hours after the shop's last suspension; stamps beyond a full card carry over to the
next card; a card valid N days expires at the end of the shop day N days after the
member's first stamp on it.
"""
import base64
import datetime
import hashlib
import hmac
import uuid

from chassis.errors import Conflict, InvalidInput, NotFound

WAITING_TIME = datetime.timedelta(hours=24)
# what an admin may still change once the card is active: its validity (expiry)
EDITABLE_WHEN_ACTIVE = frozenset({"validity"})
DESIGN_FIELDS = ("name", "stamps_to_fill", "rule", "tickets", "welcome_stamps", "terms", "validity",
                 "max_per_purchase")


# --- errors (each lifecycle violation has its own code) ----------------------------

def card_not_found(card_id):
    return NotFound("card_not_found", f"no stamp card {card_id} in this shop", {"card_id": ["unknown"]})


def card_field_locked(fields):
    return Conflict("card_field_locked", "an active card's design cannot change; only its expiry (validity) can",
                    {name: ["cannot change after activation"] for name in fields})


def card_suspended():
    return Conflict("card_suspended", "this card was suspended: it can never change or be activated again",
                    {"card_id": ["suspended"]})


def card_deleted():
    return Conflict("card_deleted", "this card was deleted", {"card_id": ["deleted"]})


def card_not_deletable(status):
    return Conflict("card_not_deletable", f"only a draft card can be deleted (this one is {status})",
                    {"card_id": [status]})


def card_not_active(status):
    return Conflict("card_not_active", f"only an active card can be suspended (this one is {status})",
                    {"card_id": [status]})


def active_card_exists(active_id):
    return Conflict("active_card_exists", f"the shop already has an active card ({active_id}); suspend it first",
                    {"card_id": ["another card is active"]})


def waiting_time(until):
    return Conflict("card_waiting_time", f"a card was suspended less than 24 hours ago; a new card can be "
                    f"created or activated from {until.isoformat()}", {"card_id": [f"wait until {until.isoformat()}"]})


def suspension_not_confirmed():
    return InvalidInput("suspension_not_confirmed", "suspending cannot be undone and resets every member's "
                        "stamps: send confirm: true", {"confirm": ["must be true"]})


def no_active_card():
    return Conflict("no_active_card", "the shop has no active stamp card", {"shop_id": ["no active card"]})


def card_expired():
    return Conflict("card_expired", "this stamp card has expired", {"card_id": ["expired"]})


def no_stamps_for_purchase():
    return Conflict("no_stamps_for_purchase", "this purchase earns no stamp on the card",
                    {"amount": ["below the card's amount per stamp"]})


def qr_invalid():
    return InvalidInput("qr_invalid", "this QR code is not one of this shop's stamp codes, or was altered",
                        {"token": ["not a valid stamp QR code"]})


def qr_expired():
    return Conflict("qr_expired", "this QR code has expired; ask staff for a new one", {"token": ["expired"]})


def qr_used():
    return Conflict("qr_already_used", "this QR code was already used", {"token": ["already used"]})


def printed_qr_disabled():
    return Conflict("printed_qr_disabled", "this branch's printed stamp QR code is not enabled",
                    {"token": ["printed QR disabled"]})


def daily_limit_reached(limit):
    return Conflict("daily_limit_reached", f"this printed QR code gives stamps {limit} time(s) a day per member",
                    {"token": [f"limit of {limit} per day reached"]})


def not_voidable(kind):
    return Conflict("not_voidable", f"a {kind} entry cannot be voided; only stamps given",
                    {"entry_id": [f"is a {kind} entry"]})


# --- lifecycle ---------------------------------------------------------------------

def check_edit(status, changed):
    """Refuse an edit of `changed` design fields on a card in `status`."""
    if status == "deleted":
        raise card_deleted()
    if status == "suspended":
        raise card_suspended()
    if status == "active":
        locked = sorted(set(changed) - EDITABLE_WHEN_ACTIVE)
        if locked:
            raise card_field_locked(locked)


def waiting_until(last_suspended_at):
    return None if last_suspended_at is None else last_suspended_at + WAITING_TIME


def check_waiting_time(last_suspended_at, now):
    """A new card (or an activation) only once the waiting time after the last suspension passed."""
    until = waiting_until(last_suspended_at)
    if until is not None and now < until:
        raise waiting_time(until)


def check_activation(status, active_id, last_suspended_at, now):
    """Returns False when the card is already active (nothing to do)."""
    if status == "active":
        return False
    if status == "suspended":
        raise card_suspended()
    if status == "deleted":
        raise card_deleted()
    if active_id is not None:
        raise active_card_exists(active_id)
    check_waiting_time(last_suspended_at, now)
    return True


def check_suspension(status, confirm):
    """Returns False when the card is already suspended (a replay)."""
    if not confirm:
        raise suspension_not_confirmed()
    if status == "suspended":
        return False
    if status != "active":
        raise card_not_active(status)
    return True


def check_delete(status):
    """Returns False when already deleted."""
    if status == "deleted":
        return False
    if status != "draft":
        raise card_not_deletable(status)
    return True


# --- design ------------------------------------------------------------------------

def design_problems(design):
    """{field: [reason]} of a card design that cannot work (empty when it can)."""
    problems = {}
    fill, tickets = design["stamps_to_fill"], design["tickets"]
    counts = [ticket["at"] for ticket in tickets]
    if len(set(counts)) != len(counts):
        problems["tickets"] = ["two tickets at the same stamp count"]
    elif any(at > fill for at in counts):
        problems["tickets"] = [f"a ticket's stamp count is above the card's {fill} stamps"]
    elif max(counts, default=0) != fill:
        problems["tickets"] = [f"the last ticket must be at the full card ({fill} stamps)"]
    if design["welcome_stamps"] >= fill:
        problems["welcome_stamps"] = [f"must be fewer than the card's {fill} stamps"]
    return problems


def changed_fields(current, wanted):
    """The design fields of `wanted` that differ from `current` (fields absent from wanted are kept)."""
    return [name for name in DESIGN_FIELDS if name in wanted and wanted[name] != current[name]]


def end_of_shop_day(day, tz):
    """The first instant after `day` (a date) in the shop's time zone, in UTC."""
    start = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tz)
    return start.astimezone(datetime.UTC)


def card_validity_end(validity, tz):
    """When a card with a 'date' validity stops (the end of its last day), else None."""
    if validity["mode"] != "date":
        return None
    return end_of_shop_day(validity["until"], tz)


def member_card_expiry(validity_mode, valid_until, valid_days, started_at, tz):
    """When a member's card started at `started_at` expires: the card's date, the end of
    the shop day `valid_days` after the first stamp, or never (None)."""
    if validity_mode == "date":
        return valid_until
    if validity_mode == "days":
        return end_of_shop_day(started_at.astimezone(tz).date() + datetime.timedelta(days=valid_days), tz)
    return None


def stamps_for_purchase(card, amount_satang):
    """Stamps a purchase earns: per visit a fixed number, per X baht one per whole X (rounding
    down), never more than the card's maximum per purchase."""
    if card["rule_mode"] == "per_visit":
        stamps = card["stamps_per_visit"]
    else:
        if amount_satang is None:
            raise InvalidInput("invalid_input", "this card gives stamps per amount: give the purchase amount",
                               {"amount": ["required for this card"]})
        stamps = amount_satang // card["unit_satang"]
    return min(stamps, card["max_per_purchase"])


def card_usable(card, now):
    if card is None or card["status"] != "active":
        raise no_active_card()
    if card["validity_mode"] == "date" and now >= card["valid_until"]:
        raise card_expired()


# --- grants and voids --------------------------------------------------------------

def _entry(kind, stamps, card_no, started_at, expires_at, opens_card=False):
    return {"kind": kind, "stamps": stamps, "card_no": card_no, "card_started_at": started_at,
            "card_expires_at": expires_at, "opens_card": opens_card}


def plan_grant(member, card, granted, now, tz, welcome=0):
    """The entries of a grant of `granted` stamps (plus `welcome` ones) to a member, in order,
    and the tickets it earns [(card_no, at, reward_id)] and the cards it fills [card_no].

    A member's card past its expiry is closed first (its stamps expire). Stamps beyond a full
    card carry over: the full card gives its last ticket and a new card starts with the rest.
    """
    def expiry(started):
        return member_card_expiry(card["validity_mode"], card["valid_until"], card["valid_days"], started, tz)

    entries, stamps, card_no = [], member["stamps"], member["card_no"]
    started, expires = member["started_at"], member["expires_at"]
    if started is not None and expires is not None and expires <= now:
        if stamps > 0:
            entries.append(_entry("expire", -stamps, card_no + 1, None, None))
        card_no, started, expires, stamps = card_no + 1, None, None, 0
    opening = started is None
    if opening:
        started, expires = now, expiry(now)
    for kind, count in (("welcome", welcome), ("grant", granted)):
        if count > 0:
            entries.append(_entry(kind, count, card_no, started, expires, opening))
            opening = False
    fill = card["stamps_to_fill"]
    thresholds = sorted((t["at"], t["reward_id"]) for t in card["tickets"])
    tickets, filled, held, to_add = [], [], stamps, welcome + granted
    while to_add > 0:
        step = min(to_add, fill - held)
        tickets += [(card_no, at, reward) for at, reward in thresholds if held < at <= held + step]
        held, to_add = held + step, to_add - step
        if held == fill:
            filled.append(card_no)
            card_no, held = card_no + 1, 0
            carried = to_add > 0
            entries.append(_entry("complete", -fill, card_no, now if carried else None,
                                  expiry(now) if carried else None, carried))
    return {"entries": entries, "tickets": tickets, "filled": filled, "stamps_after": held, "card_no": card_no}


def plan_void(member, target):
    """(stamps taken back, unrecovered) for voiding the given stamps of `target`: only from the
    card they are on, never below zero; stamps of a card already filled or expired stay."""
    if target["kind"] not in ("grant", "welcome"):
        raise not_voidable(target["kind"])
    if target["card_no"] != member["card_no"]:
        return 0, target["stamps"]
    taken = min(target["stamps"], member["stamps"])
    return taken, target["stamps"] - taken


# --- statistics --------------------------------------------------------------------

def stats_window(since, until, today, live, tz):
    """UTC bounds of the shop days since..until; without `live`, never past yesterday."""
    last = until if live else min(until, today - datetime.timedelta(days=1))
    start = datetime.datetime.combine(since, datetime.time(), tz).astimezone(datetime.UTC)
    return start, end_of_shop_day(last, tz), last


# --- QR tokens (signed; a points QR is never a stamp QR and vice versa) ----------------

def _signature(secret, shop_id, body):
    message = f"{shop_id}|stamps|{body}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def one_time_token(secret, shop_id, qr_id, expires_at):
    body = f"S1.{uuid.UUID(str(qr_id)).hex}.{int(expires_at.timestamp())}"
    return f"{body}.{_signature(secret, shop_id, body)}"


def printed_token(secret, shop_id, branch_id, generation):
    body = f"SP1.{uuid.UUID(str(branch_id)).hex}.{int(generation)}"
    return f"{body}.{_signature(secret, shop_id, body)}"


def read_token(secret, shop_id, token):
    """('one_time', qr_id) or ('printed', (branch_id, generation)); qr_invalid if neither."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] not in ("S1", "SP1"):
        raise qr_invalid()
    body = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _signature(secret, shop_id, body)):
        raise qr_invalid()
    try:
        ident, number = uuid.UUID(hex=parts[1]), int(parts[2])
    except ValueError:
        raise qr_invalid() from None
    if parts[0] == "S1":
        return "one_time", ident
    return "printed", (ident, number)
