"""Use cases of the points service: each runs inside the caller's transaction."""
import uuid

from chassis import idempotency
from points import contracts, domain, errors, store


def _fingerprint(cmd):
    return cmd["fingerprint"] or idempotency.fingerprint(
        {k: str(v) for k, v in cmd.items()}, ignore=("idempotency_key", "fingerprint"))


def earn(conn, cmd, outbox):
    """Record a sale and credit its points. Returns (result, replayed).

    Idempotent on the key, per shop: the sale row carries the key and the
    request's fingerprint, so a replay is answered from the sale itself and the
    key with another request is refused. Two concurrent requests with one key
    serialise on the sale's unique index. Publishes points.earned for every
    sale, including one that earns 0 points (spend below the rule's unit or
    minimum): the sale matters to members' totals and to segments.
    """
    fingerprint = _fingerprint(cmd)
    _timezone, rule = store.earn_context(conn, cmd["shop_id"], cmd["branch_id"])
    points = domain.points_for(cmd["amount"], rule)
    sale_id = uuid.uuid4()
    sale = store.record_sale(
        conn, sale_id=sale_id, shop_id=cmd["shop_id"], branch_id=cmd["branch_id"], phone=cmd["phone"],
        amount_satang=cmd["amount"], receipt_no=cmd["receipt_no"], points=points, rule_version=rule.version,
        idempotency_key=cmd["idempotency_key"], fingerprint=fingerprint,
    )
    if sale is None:
        return _replay(conn, cmd, fingerprint), True
    if points > 0:
        entry = store.insert_entry(
            conn, shop_id=cmd["shop_id"], phone=cmd["phone"], kind="earn", points=points,
            branch_id=cmd["branch_id"], sale_id=sale_id, source="counter",
            actor_type=cmd["actor"]["type"], actor_id=cmd["actor"]["id"], rule_version=rule.version, reason=None,
        )
        entry_id, balance, seq = entry["entry_id"], entry["balance_after"], entry["account_seq"]
    else:
        account = store.balance(conn, cmd["shop_id"], cmd["phone"])
        entry_id, balance, seq = None, sale["balance_at_sale"], account["entry_seq"]
    outbox.add(conn, "points.earned", 1, cmd["shop_id"], contracts.POINTS_EARNED.dump({
        "entry_id": entry_id, "phone": cmd["phone"], "branch_id": cmd["branch_id"], "points": points,
        "balance": balance, "balance_seq": seq, "rule_version": rule.version, "source": "counter",
        "actor": cmd["actor"],
        "sale": {"sale_id": sale_id, "amount_satang": cmd["amount"], "receipt_no": cmd["receipt_no"]},
    }))
    return contracts.EARN_RESULT.dump({
        "sale_id": sale_id, "shop_id": cmd["shop_id"], "branch_id": cmd["branch_id"], "phone": cmd["phone"],
        "amount_satang": cmd["amount"], "receipt_no": cmd["receipt_no"], "points": points, "balance": balance,
        "entry_id": entry_id, "rule_version": rule.version, "created_at": sale["created_at"],
    }), False


def _replay(conn, cmd, fingerprint):
    """The first answer to this key, or why there is none: the key was used for another
    request, or (no sale has the key) the receipt was used at this branch."""
    prior = store.sale_by_key(conn, cmd["shop_id"], cmd["idempotency_key"])
    if prior is None:
        raise errors.duplicate_receipt(cmd["receipt_no"])
    if prior["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    return contracts.EARN_RESULT.dump(prior)


def set_earn_rule(conn, cmd, outbox):
    """Make `cmd` the shop's earn rule from now on. Same terms as now: nothing changes."""
    store.lock_shop(conn, cmd["shop_id"])
    wanted = domain.EarnRule(cmd["points"], cmd["per_baht"], cmd["min_spend"])
    current = store.current_rule(conn, cmd["shop_id"])
    if current is not None and domain.EarnRule(
            current["points"], current["unit_satang"], current["min_spend_satang"]).same_terms(wanted):
        return contracts.EarnRule().dump(current), False
    version = 1 if current is None else current["version"] + 1
    rule = store.insert_rule(conn, cmd["shop_id"], version, wanted)
    dumped = contracts.EarnRule().dump(rule)
    outbox.add(conn, "points.earn_rule_changed", 1, cmd["shop_id"], dumped)
    return dumped, True
