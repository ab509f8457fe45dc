"""Coupons: born only here (`issue`), used once at a counter (with an undo window), shipped,
expired. Every change is written with its event in one transaction."""
import datetime
import random

from rewards import codes, domain, errors, event_contracts, shops, store

UNDO_MINUTES = 15
GENERATE_CHUNK = 20_000


def _now():
    return datetime.datetime.now(datetime.UTC)


def allocate(db, shop_id, count):
    """Take `count` of the shop's code numbers in a transaction of their own (one statement,
    committed at once): the shop row is locked for that statement, not for the caller's whole
    transaction (which would serialise every redemption of a shop). Numbers of a transaction
    that later rolls back are skipped, never reused: codes stay unique."""
    with db.connection() as conn:
        return store.allocate_codes(conn, shop_id, count)


EVENT_BATCH = 1000


def ordered_ids(count, now):
    """Coupon ids (text) in the layout of UUIDv7 (milliseconds first, then a random start
    plus a counter): a batch's ids are unique, and append to the primary key's index in
    order instead of landing on random pages of it."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    head = (millis << 80) | (0x7 << 76) | (random.getrandbits(12) << 64) | (0b10 << 62)
    start = random.getrandbits(62)  # a batch counts up from here (mod 2^62): unique within it
    ids = []
    for i in range(count):
        h = f"{head | ((start + i) & ((1 << 62) - 1)):032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


class Issued:
    """The coupons of one issue: what they share, and each one's id, code, phone, external code."""

    def __init__(self, common, ids, made, phones, external):
        self.common, self.ids, self.codes, self.phones, self.external = common, ids, made, phones, external

    def row(self, i):
        return {**self.common, "coupon_id": self.ids[i], "code": self.codes[i], "phone": self.phones[i],
                "external_code": self.external.get(self.ids[i])}


def issue(conn, outbox, *, allocated, shop_id, reward, phones, source, source_ref=None, redemption_id=None,
          points_cost=0, now=None, ids=None, pause=None):
    """Issue one coupon of `reward` per phone: the only place coupons are born (the issue RPC
    and completed redemptions both come here). Codes are the shop's code numbers `allocated`
    (see `allocate`), permuted (see codes.py), so they are unique without a retry. `pause()`
    is called between chunks of code generation (the service passes eventlet.sleep, so a
    million codes do not stall other requests).

    Events: a coupon bought with points (a redemption) is one rewards.coupon_issued; coupons
    given through the issue RPC are rewards.coupons_issued, up to 1,000 coupons per event
    (a campaign of a million is a thousand events, not a million). `ids`: the coupons' ids when
    the caller needs them first (see `ordered_ids`)."""
    now = now or _now()
    count = len(phones)
    key, first = bytes(allocated["code_key"]), allocated["first"]
    made = []
    for start in range(0, count, GENERATE_CHUNK):
        made.extend(codes.generate(key, first + start, min(GENERATE_CHUNK, count - start)))
        if pause is not None:
            pause()
    expires_at = domain.coupon_expiry(now, reward["coupon_days"], reward["valid_to"],
                                      shops.tz({"timezone": allocated["timezone"]}))
    ids = ids or ordered_ids(count, now)
    external = {}
    if reward["code_source"] == "pool":
        external = store.take_pool_codes(conn, reward["reward_id"], ids)
        if len(external) < count:
            raise errors.not_redeemable("out_of_stock")
    common = {"shop_id": shop_id, "reward_id": reward["reward_id"], "reward_version": reward["version"],
              "kind": reward["kind"], "name": reward["name"], "branch_ids": list(reward["branch_ids"]),
              "source": source, "source_ref": source_ref, "redemption_id": redemption_id, "points_cost": points_cost,
              "delivery": "requested" if reward["kind"] == "delivery" else None, "issued_at": now,
              "expires_at": expires_at}
    issued = Issued(common, ids, made, phones, external)
    store.insert_coupons(conn, common, ids, made, phones, external, pause=pause)
    if redemption_id is not None:
        outbox.add(conn, "rewards.coupon_issued", 1, shop_id, event_contracts.COUPON.dump({
            **issued.row(0), "status": "issued", "carrier": None, "tracking_no": None, "used_at": None,
            "used_branch_id": None, "used_by": None, "expired_at": None}))
    else:
        shared = event_contracts.COUPONS_ISSUED.dump({**common, "coupons": []})
        outbox.add_many(conn, "rewards.coupons_issued", 1, (
            (shop_id, {**shared, "coupons": [
                {"coupon_id": str(ids[i]), "code": made[i], "phone": phones[i],
                 "external_code": external.get(ids[i])} for i in range(start, min(start + EVENT_BATCH, count))]})
            for start in range(0, count, EVENT_BATCH)))
    return issued


def issue_batch(db, conn, cmd, outbox, pause=None):
    """The issue RPC's work: coupons without points, for campaigns, stamp cards, welcome."""
    reward = store.reward(conn, cmd["shop_id"], cmd["reward_id"], lock=True)
    if reward is None:
        raise errors.reward_not_found(cmd["reward_id"])
    now = _now()
    if reward["kind"] == "delivery":
        raise errors.InvalidInput("not_for_kind", "delivery rewards are redeemed with an address, not issued",
                                  {"reward_id": ["a delivery reward cannot be issued without a redemption"]})
    if reward["status"] != "active":
        raise errors.not_redeemable("archived")
    if reward["valid_to"] is not None and now >= reward["valid_to"]:
        raise errors.not_redeemable("ended")
    count = len(cmd["phones"])
    if reward["stock_left"] is not None and not store.reserve_stock(conn, reward["reward_id"], count):
        raise errors.Conflict("out_of_stock", f"fewer than {count} left in stock",
                              {"phones": [f"only {reward['stock_left']} left in stock"]})
    allocated = allocate(db, cmd["shop_id"], count)
    issued = issue(conn, outbox, allocated=allocated, shop_id=cmd["shop_id"], reward=reward, phones=cmd["phones"],
                   source=cmd["source"], source_ref=cmd["source_ref"], now=now, pause=pause)
    expires_at = issued.common["expires_at"]
    return {"issued": count, "reward_id": str(reward["reward_id"]),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "coupons": [{"coupon_id": str(issued.ids[i]), "code": issued.codes[i], "phone": issued.phones[i],
                         "external_code": issued.external.get(issued.ids[i])} for i in range(min(count, 100))]}


def find(conn, shop_id, text, lock=False):
    """The coupon of this shop with the code a person typed or scanned."""
    try:
        code = codes.normalise(text)
    except codes.CodeError as exc:
        raise errors.bad_code(exc.code, exc.reason) from None
    coupon = store.coupon_by_code(conn, shop_id, code, lock=lock)
    if coupon is None:
        if store.code_elsewhere(conn, shop_id, code):
            raise errors.coupon_refused("coupon_other_shop")
        raise errors.coupon_not_found()
    return coupon


def _change_event(outbox, conn, event_type, coupon, actor=None, reason=None):
    outbox.add(conn, event_type, 1, coupon["shop_id"],
               event_contracts.COUPON_CHANGE.dump({**coupon, "actor": actor, "reason": reason}))


def use(conn, cmd, outbox, now=None):
    """Staff mark an in-store coupon used at their branch: once only."""
    now = now or _now()
    coupon = find(conn, cmd["shop_id"], cmd["code"], lock=True)
    refusal = domain.use_refused(coupon, cmd["shop_id"], str(cmd["branch_id"]), now)
    if refusal:
        raise errors.coupon_refused(refusal)
    used = store.mark_used(conn, coupon["coupon_id"], now, cmd["branch_id"], cmd["actor"].get("id"))
    store.add_history(conn, coupon["coupon_id"], "used", actor=cmd["actor"], branch_id=cmd["branch_id"])
    _change_event(outbox, conn, "rewards.coupon_used", used, actor=cmd["actor"])
    return used


def undo_use(conn, cmd, outbox, now=None):
    """Take back a use made by mistake, within UNDO_MINUTES, with a reason."""
    now = now or _now()
    coupon = find(conn, cmd["shop_id"], cmd["code"], lock=True)
    if coupon["status"] != "used":
        raise errors.not_used()
    if cmd["branch_id"] is not None and str(coupon["used_branch_id"]) != str(cmd["branch_id"]):
        raise errors.Forbidden("wrong_branch", "this coupon was used at another branch", {"code": ["other branch"]})
    if now - coupon["used_at"] > datetime.timedelta(minutes=UNDO_MINUTES):
        raise errors.undo_too_late(UNDO_MINUTES)
    restored = store.undo_use(conn, coupon["coupon_id"])
    store.add_history(conn, coupon["coupon_id"], "use_undone", actor=cmd["actor"], branch_id=cmd["branch_id"],
                      reason=cmd["reason"], detail={"used_at": coupon["used_at"].isoformat(),
                                                    "used_branch_id": str(coupon["used_branch_id"])})
    _change_event(outbox, conn, "rewards.coupon_use_undone", restored, actor=cmd["actor"], reason=cmd["reason"])
    return restored


def move_delivery(conn, cmd, outbox):
    """requested -> preparing -> shipped -> delivered, or cancelled before shipping (the stock
    comes back and the points are due back: the caller refunds them after commit)."""
    redemption = store.redemption(conn, cmd["redemption_id"])
    if redemption is None or str(redemption["shop_id"]) != str(cmd["shop_id"]):
        raise errors.redemption_not_found(cmd["redemption_id"])
    if redemption["coupon_id"] is None:
        raise errors.Conflict("redemption_not_completed", "this redemption has no coupon",
                              {"redemption_id": [redemption["state"]]})
    coupon = store.coupon(conn, redemption["coupon_id"], lock=True)
    if coupon["kind"] != "delivery":
        raise errors.not_a_delivery()
    refusal = domain.delivery_move_refused(coupon["delivery"], cmd["status"])
    if refusal:
        raise errors.delivery_move(refusal)
    moved = store.move_delivery(conn, coupon["coupon_id"], cmd["status"], cmd["carrier"], cmd["tracking_no"])
    store.add_history(conn, coupon["coupon_id"], f"delivery_{cmd['status']}", actor=cmd["actor"],
                      reason=cmd["reason"], detail={"carrier": cmd["carrier"], "tracking_no": cmd["tracking_no"]})
    if cmd["status"] == "cancelled":
        if redemption["stock_reserved"]:
            store.release_stock(conn, coupon["reward_id"])
        store.set_refund(conn, redemption["redemption_id"], "due")
    outbox.add(conn, "rewards.delivery_status_changed", 1, coupon["shop_id"], event_contracts.DELIVERY_CHANGED.dump({
        **moved, "redemption_id": redemption["redemption_id"], "previous": coupon["delivery"],
        "status": cmd["status"], "reason": cmd["reason"], "actor": cmd["actor"]}))
    return moved, redemption


def expire(db, outbox, as_of, chunk=5000):
    """Mark every issued coupon past its date expired (as of `as_of`); safe to repeat."""
    total = 0
    while True:
        with db.transaction() as conn:
            rows = store.expire_due(conn, as_of, chunk)
            if not rows:
                return {"expired": total}
            outbox.add_many(conn, "rewards.coupon_expired", 1,
                            ((row["shop_id"], event_contracts.COUPON.dump(row)) for row in rows))
        total += len(rows)


def warn(db, outbox, as_of, days=3, chunk=5000):
    """rewards.coupon_expiring_soon, once per coupon, for coupons expiring within `days`."""
    total, until = 0, as_of + datetime.timedelta(days=days)
    while True:
        with db.transaction() as conn:
            rows = store.warn_due(conn, as_of, until, chunk)
            if not rows:
                return {"warned": total}
            outbox.add_many(conn, "rewards.coupon_expiring_soon", 1,
                            ((row["shop_id"], event_contracts.COUPON.dump(row)) for row in rows))
        total += len(rows)
