"""Redemption: one business transaction across rewards and points (a saga).

    reserve (rewards: stock, per-member limit; state reserved)
      -> spend (points, idempotent on 'redemption:<id>')
      -> complete (rewards: coupon issued, state completed)       rewards.redeemed
    or, when a step fails:
      points refused the spend, points did not answer, or the coupon could not be written
                                    -> compensating -> refund_spend(cancel_if_absent) -> failed
                                       (stock released)                        rewards.redemption_failed

Each step is guarded by the state it starts from, so any number of drivers (the
caller, its replays, the recovery sweep after a crash) can push the same
redemption without doing anything twice: the spend is idempotent in points, a
cancelled spend key can never be spent later, a completed redemption is never
compensated and a compensating one is never completed. Even a refusal goes
through the cancellation: another driver's spend with the same key may still be
on its way to points, and must not succeed after the redemption failed.
"""
import datetime
import uuid

from chassis import errors as chassis_errors
from chassis import idempotency
from rewards import coupons, domain, errors, event_contracts, store

SYSTEM = {"type": "system", "id": "rewards"}


def _now():
    return datetime.datetime.now(datetime.UTC)


def _refusal(cmd, reward, tier, now, taken):
    """Why this member cannot redeem `reward` now (the error to raise), stock aside; None: they can."""
    if reward["kind"] == "delivery" and cmd["address"] is None:
        return errors.address_required()
    if reward["kind"] != "delivery" and cmd["address"] is not None:
        return errors.not_for_kind("address", reward["kind"])
    reasons = [r for r in domain.why_not(reward, now, tier=tier, taken=taken,
                                         as_member=cmd["actor"]["type"] == "member") if r != "out_of_stock"]
    return errors.not_redeemable(reasons[0]) if reasons else None


def start(db, cmd, reward, tier=None, now=None):
    """Reserve: check `reward` (as the caller read it) for this member, take one from stock,
    record the redemption. Returns (redemption row, replayed); a new redemption's row also
    carries its `reward` and, when taken here, its coupon's code number (`allocated`), for
    `drive`.

    The insert claims the idempotency key: a concurrent call with the same key waits for its
    transaction, then answers as its replay; and a replay answers before any refusal. A reward
    without stock or per-member limit that this member may redeem needs no check after the
    insert: one statement (its own transaction) inserts and takes the code number. Otherwise
    the checks follow the insert in a transaction: the member's lock first (per-member limit),
    then the insert, the unit of stock and the member's count in one statement."""
    now = now or _now()
    fingerprint = idempotency.request_fingerprint(cmd)
    shop_id, key = cmd["shop_id"], cmd["idempotency_key"]
    limited, per_member = reward["stock_left"] is not None, reward["per_member_limit"] is not None
    redemption_id = uuid.uuid4()
    spend = {"idempotency_key": f"redemption:{redemption_id}", "shop_id": str(shop_id),
             "phone": cmd["phone"], "points": reward["points_cost"],
             "reason": f"reward: {reward['name']}"[:500], "actor": cmd["actor"]}
    values = {"redemption_id": redemption_id, "shop_id": shop_id, "idempotency_key": key, "fingerprint": fingerprint,
              "reward_id": reward["reward_id"], "phone": cmd["phone"], "points": reward["points_cost"],
              "spend": spend, "actor": cmd["actor"], "branch_id": cmd["branch_id"], "address": cmd["address"],
              "stock_reserved": limited}
    allocated = existing = None
    if not limited and not per_member and _refusal(cmd, reward, tier, now, 0) is None:
        with db.connection() as conn:  # one statement: its own transaction
            row = store.claim(conn, **values)
            if row is None:
                existing = store.redemption_by_key(conn, shop_id, key)
            else:
                allocated = {name: row.pop(name) for name in ("first", "code_key", "timezone")}
                if allocated["first"] is None:  # not expected: then `drive` takes one
                    allocated = None
    else:
        with db.transaction() as conn:
            if per_member:
                store.lock_member_reward(conn, shop_id, cmd["phone"], reward["reward_id"])
            row = store.reserve(conn, per_member, **values)
            if row is None:
                existing = store.redemption_by_key(conn, shop_id, key)
            else:
                taken, stock_taken = row.pop("taken"), row.pop("stock_taken")
                refusal = _refusal(cmd, reward, tier, now, taken or 0)
                if refusal is not None:
                    raise refusal
                if limited and not stock_taken:
                    raise errors.not_redeemable("out_of_stock")
    if row is not None:
        return {**row, "reward": reward, "allocated": allocated}, False
    if existing["fingerprint"] != fingerprint:
        raise errors.idempotency_key_reused()
    return existing, True


def drive(db, points, outbox, row, log=None):
    """Push a redemption as far as it goes now; returns its row afterwards."""
    if row["state"] == "reserved":
        try:
            spent = points.call("spend", row["spend"])
        except (chassis_errors.Conflict, chassis_errors.NotFound) as exc:
            return _compensate(db, points, outbox, row, exc.code, exc.message, log)
        except Exception as exc:  # noqa: BLE001 - no answer, or an unknown one: the spend may or may not be made
            if log:
                log.warning("redemption_spend_unknown", redemption_id=str(row["redemption_id"]), error=repr(exc))
            return _compensate(db, points, outbox, row, "points_unavailable",
                               "the points service did not answer in time; this redemption was undone "
                               "(no points taken, or given back): try again with a new idempotency key", log)
        if spent.get("refunded"):  # given back by an earlier compensation: the redemption is over
            return _fail(db, outbox, row, ("reserved",), "cancelled", "this redemption was cancelled")
        try:
            return _complete(db, outbox, row)
        except Exception as exc:  # noqa: BLE001 - whatever broke the coupon, the points go back
            if log:
                log.error("redemption_complete_failed", redemption_id=str(row["redemption_id"]), error=repr(exc))
            return _compensate(db, points, outbox, row, "coupon_failed",
                               "the coupon could not be issued; the points were given back", log)
    if row["state"] == "compensating":
        return _compensate(db, points, outbox, row, row["failure_code"], row["failure_message"], log)
    return row


def _complete(db, outbox, row):
    """Issue the coupon and complete the redemption if it is still reserved: the guarded update
    comes first and is the lock (a concurrent driver waits for it, then finds the redemption
    settled). The reward is the one `start` checked when the row carries it; a replay or the
    sweep reads it here; likewise the code number."""
    allocated = row.get("allocated") or coupons.allocate(db, row["shop_id"], 1)
    now = _now()
    coupon_id = coupons.ordered_ids(1, now)[0]
    with db.transaction() as conn:
        done = store.settle(conn, row["redemption_id"], "completed", ("reserved",), coupon_id=coupon_id)
        if done is None:
            return store.redemption(conn, row["redemption_id"])
        reward = row.get("reward") or store.reward(conn, done["shop_id"], done["reward_id"])
        coupon = coupons.issue(conn, outbox, allocated=allocated, shop_id=done["shop_id"], reward=reward,
                               phones=[done["phone"]], source="redemption", redemption_id=done["redemption_id"],
                               points_cost=done["points"], now=now, ids=[coupon_id]).row(0)
        outbox.add(conn, "rewards.redeemed", 1, done["shop_id"], event_contracts.REDEEMED.dump({
            **done, "code": coupon["code"]}))
        return {**done, "coupon": {**coupon, "status": "issued", "carrier": None, "tracking_no": None,
                                   "used_at": None, "used_branch_id": None, "used_by": None, "expired_at": None}}


def _fail(db, outbox, row, from_states, code, message):
    with db.transaction() as conn:
        failed = store.fail(conn, row["redemption_id"], from_states, code, message)  # and its stock back
        if failed is None:
            return store.redemption(conn, row["redemption_id"])
        outbox.add(conn, "rewards.redemption_failed", 1, failed["shop_id"], event_contracts.REDEMPTION_FAILED.dump(
            failed))
        return failed


def _compensate(db, points, outbox, row, code, message, log=None):
    """Give back (or cancel) the spend, then fail the redemption. If points cannot be
    reached the redemption stays compensating, for the next driver."""
    with db.connection() as conn:  # one statement: its own transaction
        marked = store.settle(conn, row["redemption_id"], "compensating", ("reserved", "compensating"),
                              failure_code=code, failure_message=message)
        if marked is None:
            return store.redemption(conn, row["redemption_id"])
    try:
        points.call("refund_spend", {"shop_id": str(marked["shop_id"]), "spend_key": marked["spend"]["idempotency_key"],
                                     "reason": f"redemption undone: {code}"[:500], "actor": SYSTEM,
                                     "cancel_if_absent": True})
    except Exception as exc:  # noqa: BLE001 - not settled now: the next driver (the sweep) retries
        if log:
            log.warning("redemption_compensation_pending", redemption_id=str(row["redemption_id"]), error=repr(exc))
        return marked
    return _fail(db, outbox, marked, ("compensating",), code, message)


def refund_cancelled_delivery(db, points, row, log=None):
    """Give back the points of a cancelled delivery (refund 'due' -> 'done'). Safe to repeat."""
    try:
        points.call("refund_spend", {"shop_id": str(row["shop_id"]), "spend_key": row["spend"]["idempotency_key"],
                                     "reason": "delivery cancelled", "actor": SYSTEM})
    except Exception as exc:  # noqa: BLE001 - not refunded now: the sweep retries
        if log:
            log.warning("delivery_refund_pending", redemption_id=str(row["redemption_id"]), error=repr(exc))
        return False
    with db.connection() as conn:  # one statement: its own transaction
        store.set_refund(conn, row["redemption_id"], "done")
    return True


def recover(db, points, outbox, as_of, grace_seconds=60, limit=1000, log=None):
    """The recovery sweep: every redemption left unsettled (reserved, compensating, a refund
    due) since before `as_of - grace` is finished or undone. Safe to run again and in parallel."""
    before = as_of - datetime.timedelta(seconds=grace_seconds)
    totals = {"completed": 0, "failed": 0, "pending": 0, "refunded": 0}
    with db.connection() as conn:
        rows = store.unsettled(conn, before, limit)
    for row in rows:
        if row["state"] in ("reserved", "compensating"):
            after = drive(db, points, outbox, row, log)
            totals[after["state"] if after["state"] in ("completed", "failed") else "pending"] += 1
        elif row["refund"] == "due":
            totals["refunded" if refund_cancelled_delivery(db, points, row, log) else "pending"] += 1
    return totals


def result(conn, row, replayed=False):
    """What a caller sees of a redemption."""
    coupon = row.get("coupon") or (store.coupon(conn, row["coupon_id"]) if row["coupon_id"] else None)
    return {"redemption_id": str(row["redemption_id"]), "state": row["state"], "reward_id": str(row["reward_id"]),
            "phone": row["phone"], "points": row["points"], "created_at": row["created_at"].isoformat(),
            "coupon": coupon_view(coupon) if coupon else None, "address": row["address"],
            "failure": {"code": row["failure_code"], "message": row["failure_message"]} if row["failure_code"]
            else None, "refund": row["refund"], "replayed": replayed}


def coupon_view(coupon):
    return {**event_contracts.COUPON.dump(coupon), "display_code": coupon["code"][:4] + "-" + coupon["code"][4:]}
