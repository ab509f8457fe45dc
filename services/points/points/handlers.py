"""Earning at the counter, earn rules and points settings. Each use case runs inside
the caller's transaction (a sale may run on an autocommit connection: see `earn`) and
writes its events to the outbox there."""
import uuid

from chassis import idempotency
from chassis.fields import baht
from points import contracts, domain, errors, event_contracts, ledger, store


def fingerprint_of(cmd):
    """The edge's fingerprint of the whole request, else one of this request."""
    return cmd.get("fingerprint") or idempotency.fingerprint(
        {k: str(v) for k, v in cmd.items()}, ignore=("idempotency_key", "fingerprint"))


def earned_event(outbox, conn, shop_id, *, entry, phone, points, balance, seq, kind, source, actor,
                 branch_id=None, rule_version=None, sale=None, order=None, reason=None):
    outbox.add(conn, "points.earned", 1, shop_id, event_contracts.POINTS_EARNED.dump({
        "entry_id": entry["entry_id"] if entry else None, "phone": phone, "points": points, "balance": balance,
        "balance_seq": seq, "kind": kind, "source": source, "branch_id": branch_id, "actor": actor,
        "reason": reason, "rule_version": rule_version, "expires_at": entry["expires_at"] if entry else None,
        "sale": sale, "order": order}))


def earn(conn, cmd, outbox, source="counter"):
    """Record a sale and credit its points. Returns (result, replayed).

    Idempotent on the key, per shop: the sale row carries the key and the
    request's fingerprint, so a replay is answered from the sale itself and the
    key with another request is refused. Publishes points.earned for every
    sale, including one that earns 0 points (spend below the rule's unit or
    minimum): the sale matters to members' totals and to segments.

    Two statements: the context (a read), then the sale with the account if
    new, its entry, lot and event (atomic on its own). It runs inside a caller's transaction
    (a QR claim) or on an autocommit connection (a counter sale): no BEGIN and
    COMMIT round trips for the most frequent write of the platform.
    """
    fingerprint = fingerprint_of(cmd)
    shop_id, phone = cmd["shop_id"], cmd["phone"]
    tz, settings, rule = store.sales.earn_context(conn, shop_id, cmd["branch_id"])
    points = domain.points_for(cmd["amount"], rule)
    sale_id = uuid.uuid4()
    expires_at = domain.lot_expiry(ledger.now(), settings.expiry, tz) if points > 0 else None
    sale = {"sale_id": sale_id, "amount_satang": cmd["amount"], "receipt_no": cmd["receipt_no"]}
    # entry_id, balance and balance_seq are filled in by the statement, from the entry it writes
    event, _ = outbox.row("points.earned", 1, shop_id, event_contracts.POINTS_EARNED.dump({
        "entry_id": None, "phone": phone, "points": points, "balance": None, "balance_seq": None,
        "kind": "earn", "source": source, "branch_id": cmd["branch_id"], "actor": cmd["actor"], "reason": None,
        "rule_version": rule.version, "expires_at": expires_at, "sale": sale, "order": None}))
    row = store.sales.record_earn(
        conn, event, sale_id=sale_id, shop_id=shop_id, branch_id=cmd["branch_id"], phone=phone,
        amount_satang=cmd["amount"], receipt_no=cmd["receipt_no"], points=points, rule_version=rule.version,
        idempotency_key=cmd["idempotency_key"], fingerprint=fingerprint, source=source,
        actor_type=cmd["actor"]["type"], actor_id=cmd["actor"].get("id"), expires_at=expires_at)
    if row is None:
        return _replay(conn, cmd, fingerprint), True
    return contracts.EARN_RESULT.dump({
        "sale_id": sale_id, "shop_id": shop_id, "branch_id": cmd["branch_id"], "phone": phone,
        "amount_satang": cmd["amount"], "receipt_no": cmd["receipt_no"], "points": points, "balance": row["balance"],
        "entry_id": row["entry_id"], "rule_version": rule.version, "created_at": row["created_at"],
    }), False


def _replay(conn, cmd, fingerprint):
    """The first answer to this key, or why there is none: the key was used for another
    request, or (no sale has the key) the receipt was used at this branch."""
    prior = store.sales.sale_by_key(conn, cmd["shop_id"], cmd["idempotency_key"])
    if prior is None:
        raise errors.duplicate_receipt(cmd["receipt_no"])
    if prior["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    return contracts.EARN_RESULT.dump(prior)


def _rule_event(outbox, conn, rule):
    outbox.add(conn, "points.earn_rule_changed", 1, rule["shop_id"], event_contracts.EarnRuleChanged().dump({
        **rule, "per_baht": baht(rule["unit_satang"]), "min_spend": baht(rule["min_spend_satang"])}))


def set_earn_rule(conn, cmd, outbox):
    """Make `cmd` the earn rule of the shop (or of one branch) from now on. Returns
    (rule, changed): the same terms as the rule in force change nothing."""
    store.sales.lock_shop(conn, cmd["shop_id"], cmd["branch_id"])
    wanted = domain.EarnRule(cmd["points"], cmd["per_baht"], cmd["min_spend"])
    current = store.sales.newest_rule(conn, cmd["shop_id"], cmd["branch_id"])
    if current is not None and not current["removed"] and domain.EarnRule(
            current["points"], current["unit_satang"], current["min_spend_satang"]).same_terms(wanted):
        return contracts.EarnRule().dump(current), False
    rule = store.sales.insert_rule(conn, cmd["shop_id"], cmd["branch_id"], wanted)
    _rule_event(outbox, conn, rule)
    return contracts.EarnRule().dump(rule), True


def remove_branch_rule(conn, cmd, outbox):
    """The branch earns by the shop's rule again from now on. Returns (row, changed)."""
    store.sales.lock_shop(conn, cmd["shop_id"], cmd["branch_id"])
    current = store.sales.newest_rule(conn, cmd["shop_id"], cmd["branch_id"])
    if current is None or current["removed"]:
        return (contracts.EarnRule().dump(current) if current else None), False
    rule = store.sales.insert_rule(conn, cmd["shop_id"], cmd["branch_id"], domain.EarnRule(
        current["points"], current["unit_satang"], current["min_spend_satang"]), removed=True)
    _rule_event(outbox, conn, rule)
    return contracts.EarnRule().dump(rule), True


def save_settings(conn, cmd, outbox):
    """Expiry (applies to points credited from now on), warning days, welcome points, QR minutes."""
    store.sales.lock_shop(conn, cmd["shop_id"])
    settings = domain.PointsSettings(domain.ExpiryPolicy(cmd["expiry"]["mode"], cmd["expiry"].get("months")),
                                     cmd["warn_days"], cmd["welcome_points"], cmd["qr_minutes"])
    store.sales.save_settings(conn, cmd["shop_id"], settings)
    return read_settings(conn, cmd["shop_id"], outbox)


def read_settings(conn, shop_id, outbox=None):
    row, settings = store.sales.settings(conn, shop_id)
    dumped = contracts.Settings().dump({
        "shop_id": shop_id, "timezone": row["timezone"], "warn_days": settings.warn_days,
        "welcome_points": settings.welcome_points, "qr_minutes": settings.qr_minutes,
        "expiry": {"mode": settings.expiry.mode, "months": settings.expiry.months}})
    if outbox is not None:
        outbox.add(conn, "points.settings_changed", 1, shop_id, dumped)
    return dumped
