"""Taking back a credit: a voided sale (refund at the counter), a voided credit, an order refund.

The member may already have spent the points: the balance never goes negative,
so what cannot be taken back is recorded as unrecovered and reported.
"""
import uuid

from points import errors, event_contracts, handlers, ledger, store

VOIDABLE = ("earn", "welcome", "adjust")


def void(conn, cmd, outbox):
    """Void a sale or a credit entry in full, once. Idempotent on the key (per shop).
    Errors: sale_not_found, entry_not_found, nothing_to_void, not_voidable (a void, a spend,
    an expiry), already_voided. Event: points.voided."""
    shop_id, fingerprint = cmd["shop_id"], handlers.fingerprint_of(cmd)
    prior = store.ledger.void_by_key(conn, shop_id, cmd["idempotency_key"])
    if prior is not None:
        return _replayed(prior, fingerprint), True
    if cmd["sale_id"] is not None:
        sale = store.sales.sale_credit(conn, shop_id, cmd["sale_id"])
        if sale["entry_id"] is None:
            raise errors.nothing_to_void()
        target = store.ledger.entry(conn, shop_id, sale["entry_id"])
    else:
        target = store.ledger.entry(conn, shop_id, cmd["entry_id"])
    if target["kind"] not in VOIDABLE or target["points"] <= 0:
        raise errors.not_voidable(target["kind"])
    if cmd.get("at_branch") is not None and target["branch_id"] != cmd["at_branch"]:
        raise errors.wrong_branch()
    store.ledger.lock_account(conn, shop_id, target["phone"])
    if store.ledger.fully_voided(conn, target["entry_id"]):
        raise errors.already_voided()
    prior = store.ledger.void_by_key(conn, shop_id, cmd["idempotency_key"])  # a twin that won the lock
    if prior is not None:
        return _replayed(prior, fingerprint), True
    return take_back(conn, outbox, shop_id=shop_id, target=target, points=target["points"], cause="void",
                     reason=cmd["reason"], actor=cmd["actor"], key=cmd["idempotency_key"],
                     fingerprint=fingerprint), False


def take_back(conn, outbox, *, shop_id, target, points, cause, reason, actor, key, fingerprint):
    """Take back up to `points` of credit `target`: its own lot first, then the others
    (soonest expiry first), never below a zero balance. Records the void."""
    lot = store.ledger.lot_of_entry(conn, target["entry_id"])
    entry, shortfall = ledger.debit(
        conn, shop_id=shop_id, phone=target["phone"], points=points, kind="void", source=target["source"],
        actor=actor, strict=False, first_lot_id=lot["lot_id"] if lot else None, reason=reason,
        ref_entry_id=target["entry_id"], branch_id=target["branch_id"], sale_id=target["sale_id"])
    recovered = points - shortfall
    if entry is None:
        balance, seq = 0, store.sales.balance(conn, shop_id, target["phone"])["entry_seq"]
    else:
        balance, seq = entry["balance_after"], entry["account_seq"]
    void_id = uuid.uuid4()
    store.ledger.insert_void(
        conn, void_id=void_id, shop_id=shop_id, cause=cause, target_entry_id=target["entry_id"],
        entry_id=entry["entry_id"] if entry else None, requested=points, recovered=recovered,
        unrecovered=shortfall, balance_after=balance, reason=reason, actor_type=actor["type"],
        actor_id=actor.get("id"), idempotency_key=key, fingerprint=fingerprint)
    outbox.add(conn, "points.voided", 1, shop_id, event_contracts.POINTS_VOIDED.dump({
        "entry_id": entry["entry_id"] if entry else None, "phone": target["phone"], "points": -recovered,
        "balance": balance, "balance_seq": seq, "kind": "void", "source": target["source"],
        "branch_id": target["branch_id"], "actor": actor, "reason": reason, "target_entry_id": target["entry_id"],
        "target_kind": target["kind"], "target_at": target["created_at"], "requested": points,
        "recovered": recovered, "unrecovered": shortfall, "void_id": void_id}))
    return {"void_id": str(void_id), "target_entry_id": target["entry_id"], "phone": target["phone"],
            "requested": points, "recovered": recovered, "unrecovered": shortfall, "balance": balance,
            "entry_id": entry["entry_id"] if entry else None}


def _replayed(prior, fingerprint):
    if prior["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    return {"void_id": str(prior["void_id"]), "target_entry_id": prior["target_entry_id"], "phone": prior["phone"],
            "requested": prior["requested"], "recovered": prior["recovered"],
            "unrecovered": prior["unrecovered"], "balance": prior["balance_after"], "entry_id": prior["entry_id"]}
