"""Points spent on rewards (and given back), and points given or taken outside a sale."""
from chassis import idempotency
from points import errors, event_contracts, handlers, ledger, store


def _ledger_event(outbox, conn, event_type, schema, shop_id, **data):
    outbox.add(conn, event_type, 1, shop_id, schema.dump(data))


def spend(conn, cmd, outbox):
    """Spend points for a reward. Idempotent on the spend key (a redemption id), per shop.
    All or nothing: insufficient_points when the balance is short. Event: points.redeemed."""
    fingerprint = handlers.fingerprint_of(cmd)
    shop_id, key = cmd["shop_id"], cmd["idempotency_key"]
    store.ledger.lock_spend_key(conn, shop_id, key)  # a cancellation of this key waits, or is seen
    account = store.ledger.lock_account(conn, shop_id, cmd["phone"])  # a replay check under the lock is final
    prior, cancelled = store.ledger.spend_state(conn, shop_id, key)
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return _spend_result(prior), True
    if cancelled:
        raise errors.spend_cancelled(key)
    plan, _ = ledger.plan_debit(conn, shop_id=shop_id, phone=cmd["phone"], points=cmd["points"], account=account)
    # the entry, the lots, the spend row and the event in one statement
    event, _ = outbox.row("points.redeemed", 1, shop_id, event_contracts.POINTS_REDEEMED.dump({
        "entry_id": None, "phone": cmd["phone"], "points": -cmd["points"], "balance": None, "balance_seq": None,
        "kind": "redeem", "source": "rewards", "branch_id": None, "actor": cmd["actor"], "reason": cmd["reason"],
        "spend_key": key}))
    entry = store.ledger.spend_write(
        conn, plan, event, spend_key=key, fingerprint=fingerprint, shop_id=shop_id, phone=cmd["phone"],
        kind="redeem", points=-cmd["points"], source="rewards", actor_type=cmd["actor"]["type"],
        actor_id=cmd["actor"].get("id"), reason=cmd["reason"], ref=key)
    return _spend_result({**cmd, "spend_key": key, "entry_id": entry["entry_id"],
                          "balance_after": entry["balance_after"], "refund_entry_id": None}), False


def _spend_result(row):
    return {"spend_key": row["spend_key"], "phone": row["phone"], "points": row["points"],
            "entry_id": row["entry_id"], "balance": row["balance_after"],
            "refunded": row.get("refund_entry_id") is not None}


def refund_spend(conn, cmd, outbox):
    """Give a spend's points back to the lots they came from (a cancelled redemption).
    Once per spend; a repeat answers the first refund. Event: points.voided (target_kind redeem).

    With `cancel_if_absent`, a key that was never spent is cancelled instead (answer
    `cancelled: true`, no points): a spend with it arriving later is refused, so a caller
    that lost track of its spend (a timeout, a crash) can settle it either way, once."""
    shop_id = cmd["shop_id"]
    store.ledger.lock_spend_key(conn, shop_id, cmd["spend_key"])
    found = store.ledger.spend(conn, shop_id, cmd["spend_key"])
    if found is None:
        if not cmd["cancel_if_absent"]:
            raise errors.spend_not_found(cmd["spend_key"])
        store.ledger.cancel_spend(conn, shop_id, cmd["spend_key"], cmd["reason"])
        return {"spend_key": cmd["spend_key"], "points": 0, "entry_id": None, "balance": None,
                "cancelled": True}, False
    store.ledger.lock_account(conn, shop_id, found["phone"])
    found = store.ledger.spend(conn, shop_id, cmd["spend_key"], lock=True)
    if found["refund_entry_id"] is not None:
        refund = store.ledger.entry_result(conn, found["refund_entry_id"])
        return {"spend_key": found["spend_key"], "points": found["points"], "entry_id": refund["entry_id"],
                "balance": refund["balance_after"], "cancelled": False}, True
    entry = store.ledger.give_back(
        conn, found["entry_id"], shop_id=shop_id, phone=found["phone"], kind="void", points=found["points"],
        source="rewards", actor_type=cmd["actor"]["type"], actor_id=cmd["actor"].get("id"), reason=cmd["reason"],
        ref=found["spend_key"], ref_entry_id=found["entry_id"])
    store.ledger.mark_spend_refunded(conn, shop_id, found["spend_key"], entry["entry_id"])
    _ledger_event(outbox, conn, "points.voided", event_contracts.POINTS_VOIDED, shop_id,
                  entry_id=entry["entry_id"], phone=found["phone"], points=found["points"],
                  balance=entry["balance_after"], balance_seq=entry["account_seq"], kind="void", source="rewards",
                  branch_id=None, actor=cmd["actor"], reason=cmd["reason"], target_entry_id=found["entry_id"],
                  target_kind="redeem", requested=found["points"], recovered=found["points"], unrecovered=0,
                  void_id=None)
    return {"spend_key": found["spend_key"], "points": found["points"], "entry_id": entry["entry_id"],
            "balance": entry["balance_after"], "cancelled": False}, False


def credit(conn, cmd, outbox):
    """Points given (or, for an adjustment, taken) outside a sale: an admin's adjustment with
    a reason, welcome points, an import, a campaign. Idempotent on the key (per shop). A
    negative adjustment is all or nothing (insufficient_points). Events: points.adjusted, or
    points.earned for welcome points."""
    def produce():
        shop_id, phone, points = cmd["shop_id"], cmd["phone"], cmd["points"]
        common = {"shop_id": shop_id, "phone": phone, "kind": cmd["kind"], "source": cmd["source"],
                  "actor": cmd["actor"], "reason": cmd["reason"], "branch_id": cmd["branch_id"],
                  "ref": cmd["idempotency_key"]}
        if points > 0:
            tz, settings, _ = store.sales.earn_context(conn, shop_id, cmd["branch_id"], need_rule=False)
            entry = ledger.credit(conn, points=points, tz=tz, settings=settings, **common)
        else:
            store.ledger.open_account(conn, shop_id, phone)
            entry, _ = ledger.debit(conn, points=-points, **common)
            entry = {**entry, "expires_at": None}
        data = {"entry_id": entry["entry_id"], "phone": phone, "points": points, "balance": entry["balance_after"],
                "balance_seq": entry["account_seq"], "kind": cmd["kind"], "source": cmd["source"],
                "branch_id": cmd["branch_id"], "actor": cmd["actor"], "reason": cmd["reason"],
                "expires_at": entry["expires_at"]}
        if cmd["kind"] == "welcome":
            _ledger_event(outbox, conn, "points.earned", event_contracts.POINTS_EARNED, shop_id,
                          **data, rule_version=None, sale=None, order=None)
        else:
            _ledger_event(outbox, conn, "points.adjusted", event_contracts.POINTS_ADJUSTED, shop_id, **data)
        return {"entry_id": entry["entry_id"], "phone": phone, "points": points, "balance": entry["balance_after"],
                "expires_at": entry["expires_at"].isoformat() if entry["expires_at"] else None}

    return idempotency.run_once(conn, f"credit:{cmd['shop_id']}", cmd["idempotency_key"],
                                handlers.fingerprint_of(cmd), produce)
