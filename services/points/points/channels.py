"""Ways to earn other than the counter: orders from another system, one-time QR codes,
printed QR codes. Each is idempotent, and each credit goes through the same ledger."""
import datetime
import uuid
import zoneinfo

from chassis import idempotency
from points import domain, errors, handlers, ledger, store, tokens, voiding

# A member's own scan: the entry's phone names the member; the actor carries no copy of it
# (an erasure re-keys the phone, and nothing else in the ledger may name the person).
MEMBER_ACTOR = {"type": "member", "id": None}

# --- orders from another system -------------------------------------------------


def record_order(conn, cmd, outbox):
    """Points for an order of a marketplace or online shop. The order id earns once:
    the same order again is answered as first recorded; with other details it is
    order_already_recorded. Event: points.earned (source order)."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(
        {k: v for k, v in cmd.items() if k != "idempotency_key"})
    tz, settings, rule = store.sales.earn_context(conn, shop_id, cmd["branch_id"])
    points = domain.points_for(cmd["amount"], rule)
    store.ledger.open_account(conn, shop_id, cmd["phone"])
    inserted = store.channels.insert_order(
        conn, shop_id=shop_id, order_id=cmd["order_id"], phone=cmd["phone"], branch_id=cmd["branch_id"],
        amount_satang=cmd["amount"], points=points, rule_version=rule.version, fingerprint=fingerprint)
    if inserted is None:
        prior = store.channels.order(conn, shop_id, cmd["order_id"])
        if prior["fingerprint"] != fingerprint:
            raise errors.order_conflict()
        return _order_result(prior), True
    entry = None
    if points > 0:
        entry = ledger.credit(conn, shop_id=shop_id, phone=cmd["phone"], points=points, kind="earn", source="order",
                              actor=cmd["actor"], tz=tz, settings=settings, open_account=False,
                              branch_id=cmd["branch_id"], rule_version=rule.version, ref=cmd["order_id"])
        store.channels.set_order_entry(conn, shop_id, cmd["order_id"], entry["entry_id"])
    order = store.channels.order(conn, shop_id, cmd["order_id"])
    handlers.earned_event(outbox, conn, shop_id, entry=entry, phone=cmd["phone"], points=points,
                          balance=order["balance"], seq=_seq(conn, shop_id, cmd["phone"], entry), kind="earn",
                          source="order", actor=cmd["actor"], branch_id=cmd["branch_id"],
                          rule_version=rule.version,
                          order={"order_id": cmd["order_id"], "amount_satang": cmd["amount"]})
    return _order_result(order), False


def _seq(conn, shop_id, phone, entry):
    return entry["account_seq"] if entry else store.sales.balance(conn, shop_id, phone)["entry_seq"]


def _order_result(order):
    return {"order_id": order["order_id"], "phone": order["phone"], "amount_satang": order["amount_satang"],
            "points": order["points"], "balance": order["balance"], "entry_id": order["entry_id"],
            "refunded_satang": order["refunded_satang"], "voided_points": order["voided_points"],
            "created_at": order["created_at"].isoformat()}


def refund_order(conn, cmd, outbox):
    """A refund of (part of) an order takes back its points in proportion. Idempotent on
    the refund id. Errors: order_not_found, refund_exceeds_order. Event: points.voided."""
    shop_id, order_id = cmd["shop_id"], cmd["order_id"]
    fingerprint = handlers.fingerprint_of({k: v for k, v in cmd.items() if k != "idempotency_key"})
    order = store.channels.order(conn, shop_id, order_id, lock=True)
    prior = store.channels.refund(conn, shop_id, order_id, cmd["refund_id"])
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return _refund_result(order_id, prior), True
    left = order["amount_satang"] - order["refunded_satang"]
    if cmd["amount"] > left:
        raise errors.refund_exceeds_order(left)
    to_void = domain.points_to_void_for_refund(order["points"], order["amount_satang"],
                                               order["refunded_satang"] + cmd["amount"], order["voided_points"])
    if to_void > 0:
        target = store.ledger.entry(conn, shop_id, order["entry_id"])
        outcome = voiding.take_back(conn, outbox, shop_id=shop_id, target=target, points=to_void,
                                    cause="order_refund", reason=f"order {order_id} refund {cmd['refund_id']}",
                                    actor=cmd["actor"], key=f"refund:{order_id}:{cmd['refund_id']}",
                                    fingerprint=fingerprint)
    else:
        outcome = {"void_id": None, "recovered": 0, "unrecovered": 0,
                   "balance": store.sales.balance(conn, shop_id, order["phone"])["balance"]}
    refund = {"refund_id": cmd["refund_id"], "amount_satang": cmd["amount"], "points_voided": to_void,
              "recovered": outcome["recovered"], "unrecovered": outcome["unrecovered"],
              "balance_after": outcome["balance"]}
    store.channels.insert_refund(conn, shop_id=shop_id, order_id=order_id, void_id=outcome["void_id"],
                                 fingerprint=fingerprint, **{k: refund[k] for k in (
                                     "refund_id", "amount_satang", "points_voided", "balance_after")})
    return _refund_result(order_id, refund), False


def _refund_result(order_id, refund):
    return {"order_id": order_id, "refund_id": refund["refund_id"], "amount_satang": refund["amount_satang"],
            "points_voided": refund["points_voided"], "recovered": refund["recovered"],
            "unrecovered": refund["unrecovered"], "balance": refund["balance_after"]}


# --- one-time QR ----------------------------------------------------------------

def create_qr(conn, cmd, outbox, secret, now):
    """Staff's one-time QR for a sale: valid for the shop's QR minutes, claimable once.
    Idempotent on the key. Event: points.qr_created."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(cmd)
    _tz, settings, _rule = store.sales.earn_context(conn, shop_id, cmd["branch_id"])
    qr_id, expires_at = uuid.uuid4(), now + datetime.timedelta(minutes=settings.qr_minutes)
    if store.channels.insert_qr(conn, qr_id=qr_id, shop_id=shop_id, branch_id=cmd["branch_id"],
                                amount_satang=cmd["amount"], receipt_no=cmd["receipt_no"],
                                created_by_type=cmd["actor"]["type"], created_by_id=cmd["actor"].get("id"),
                                idempotency_key=cmd["idempotency_key"], fingerprint=fingerprint,
                                expires_at=expires_at) is None:
        prior = store.channels.qr_by_key(conn, shop_id, cmd["idempotency_key"])
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return _qr_result(prior, secret), True
    qr = store.channels.qr(conn, shop_id, qr_id)
    outbox.add(conn, "points.qr_created", 1, shop_id, {
        "qr_id": str(qr_id), "branch_id": str(cmd["branch_id"]), "amount_satang": cmd["amount"],
        "expires_at": expires_at.isoformat(), "actor": cmd["actor"]})
    return _qr_result(qr, secret), False


def _qr_result(qr, secret):
    return {"qr_id": str(qr["qr_id"]), "branch_id": str(qr["branch_id"]), "amount_satang": qr["amount_satang"],
            "token": tokens.one_time(secret, qr["shop_id"], qr["qr_id"], qr["expires_at"]),
            "expires_at": qr["expires_at"].isoformat(), "claimed": qr["claimed_at"] is not None}


def read_qr(conn, shop_id, qr_id, secret):
    qr = store.channels.qr(conn, shop_id, qr_id)
    if qr is None:
        raise errors.qr_not_found(qr_id)
    return _qr_result(qr, secret)


def claim_qr(conn, cmd, outbox, secret, now):
    """A member scans staff's one-time QR: the sale's points are theirs, once. A retry by the
    same member answers the same sale. Errors: qr_invalid (altered, another shop's),
    qr_expired, qr_already_used."""
    shop_id = cmd["shop_id"]
    try:
        qr_id, expires_at = tokens.read_one_time(secret, shop_id, cmd["token"])
    except ValueError:
        raise errors.qr_invalid() from None
    qr = store.channels.claim_qr(conn, shop_id, qr_id, cmd["phone"], now)
    if qr is None:
        qr = store.channels.qr(conn, shop_id, qr_id)
        if qr is None:
            raise errors.qr_invalid()
        if qr["claimed_phone"] != cmd["phone"]:
            raise errors.qr_used() if qr["claimed_at"] is not None else errors.qr_expired()
    result, replayed = handlers.earn(conn, {
        "idempotency_key": f"qr:{qr_id}", "fingerprint": f"qr:{qr_id}", "shop_id": shop_id,
        "branch_id": qr["branch_id"], "phone": cmd["phone"], "amount": qr["amount_satang"],
        "receipt_no": qr["receipt_no"], "actor": MEMBER_ACTOR}, outbox, source="qr")
    if not replayed:
        store.channels.set_qr_sale(conn, qr_id, result["sale_id"])
    return result, replayed


# --- printed QR -----------------------------------------------------------------

def set_printed_qr(conn, cmd, outbox, secret):
    """Enable (or disable) a branch's printed QR and what it gives; `regenerate` makes
    every earlier print worthless. Event: points.printed_qr_changed."""
    store.sales.lock_shop(conn, cmd["shop_id"], cmd["branch_id"])
    saved = store.channels.save_printed(conn, **{k: cmd[k] for k in (
        "branch_id", "shop_id", "enabled", "points", "daily_limit", "regenerate")})
    result = _printed_result(saved, secret)
    outbox.add(conn, "points.printed_qr_changed", 1, cmd["shop_id"],
               {k: v for k, v in result.items() if k != "token"})
    return result


def _printed_result(printed, secret):
    return {"branch_id": str(printed["branch_id"]), "enabled": printed["enabled"], "points": printed["points"],
            "daily_limit": printed["daily_limit"], "generation": printed["generation"],
            "token": tokens.printed(secret, printed["shop_id"], printed["branch_id"], printed["generation"])}


def read_printed_qr(conn, shop_id, branch_id, secret):
    printed = store.channels.printed(conn, shop_id, branch_id)
    if printed is None:
        raise errors.branch_not_found(branch_id)
    return _printed_result(printed, secret)


def claim_printed_qr(conn, cmd, outbox, secret, now):
    """A member scans a branch's printed QR: a fixed number of points, at most the daily
    limit per member per shop day. Idempotent on the key. Errors: qr_invalid,
    printed_qr_disabled, daily_limit_reached. Event: points.earned (source printed_qr)."""
    shop_id = cmd["shop_id"]

    def produce():
        try:
            branch_id, generation = tokens.read_printed(secret, shop_id, cmd["token"])
        except ValueError:
            raise errors.qr_invalid() from None
        printed = store.channels.printed(conn, shop_id, branch_id)
        if printed is None or printed["generation"] != generation:
            raise errors.qr_invalid()
        if not printed["enabled"]:
            raise errors.printed_qr_disabled()
        tz, settings, _ = store.sales.earn_context(conn, shop_id, branch_id, need_rule=False)
        day = now.astimezone(zoneinfo.ZoneInfo(tz)).date()
        if store.channels.count_scan(conn, branch_id, cmd["phone"], day, printed["daily_limit"]) is None:
            raise errors.daily_limit_reached(printed["daily_limit"])
        actor = MEMBER_ACTOR
        entry = ledger.credit(conn, shop_id=shop_id, phone=cmd["phone"], points=printed["points"], kind="earn",
                              source="printed_qr", actor=actor, tz=tz, settings=settings, at=now,
                              branch_id=branch_id, ref=f"printed:{branch_id}:{day.isoformat()}")
        handlers.earned_event(outbox, conn, shop_id, entry=entry, phone=cmd["phone"], points=printed["points"],
                              balance=entry["balance_after"], seq=entry["account_seq"], kind="earn",
                              source="printed_qr", actor=actor, branch_id=branch_id)
        return {"branch_id": str(branch_id), "phone": cmd["phone"], "points": printed["points"],
                "balance": entry["balance_after"], "entry_id": entry["entry_id"]}

    return idempotency.run_once(conn, f"printed_qr:{shop_id}", cmd["idempotency_key"],
                                handlers.fingerprint_of(cmd), produce)
