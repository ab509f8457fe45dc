"""The two ways points move, used by every use case.

`credit` adds points as a new lot with its expiry; `debit` takes points from
lots, soonest expiry first, under the account's row lock (taken before any lot
lock, the same order the expiry job uses). The database keeps the balance equal
to the sum of entries and never negative; lots' remainders add up to it.
"""
import datetime

from points import domain, errors, store


def now():
    return datetime.datetime.now(datetime.UTC)


def credit(conn, *, shop_id, phone, points, kind, source, actor, tz, settings, at=None, open_account=True,
           **entry):
    """A credit of `points` (> 0): a positive entry and its lot, expiring per the shop's policy."""
    expires_at = domain.lot_expiry(at or now(), settings.expiry, tz)
    if open_account:
        store.ledger.open_account(conn, shop_id, phone)
    return store.ledger.credit(conn, expires_at, shop_id=shop_id, phone=phone, kind=kind, points=points,
                               source=source, actor_type=actor["type"], actor_id=actor.get("id"), **entry)


def debit(conn, *, shop_id, phone, points, kind, source, actor, strict=True, first_lot_id=None, account=None,
          **entry):
    """Take `points` (> 0) from the account's lots. Returns (entry or None, shortfall).

    strict: all of it or insufficient_points. Otherwise as much as the balance
    allows (a void), the rest reported as shortfall; `first_lot_id` pays first
    (the voided credit's own lot). `account`: the account row the caller already
    locked in this transaction (else it is locked here).
    """
    plan, shortfall = plan_debit(conn, shop_id=shop_id, phone=phone, points=points, strict=strict,
                                 first_lot_id=first_lot_id, account=account)
    taken = points - shortfall
    if taken == 0:
        return None, shortfall
    row = store.ledger.debit(conn, plan, shop_id=shop_id, phone=phone, kind=kind, points=-taken, source=source,
                             actor_type=actor["type"], actor_id=actor.get("id"), **entry)
    return row, shortfall


def plan_debit(conn, *, shop_id, phone, points, strict=True, first_lot_id=None, account=None):
    """Which lots a debit of `points` takes, soonest expiry first: (plan [(lot_id, points)],
    shortfall), under the account's lock (taken here unless `account` is the locked row)."""
    if account is None:
        account = store.ledger.lock_account(conn, shop_id, phone)
    lots = domain.consumption_order(store.ledger.open_lots(conn, shop_id, phone))
    if first_lot_id is not None:
        lots.sort(key=lambda lot: lot[0] != first_lot_id)
    plan, shortfall = domain.plan_take([(lot_id, remaining) for lot_id, remaining, _ in lots], points)
    if strict and shortfall:
        raise errors.insufficient_points(account["balance"], points)
    return plan, shortfall
