"""Personal-data rights (PDPA): a member's data, erasure, shop cancellation, and the
retention job (answers past the shop's retention, cancelled shops past their keeping time).

The rules at the top need no I/O (unit-tested); the use cases below each run in the
caller's transaction, or, for the retention job, in chunks committed one by one.
"""
import datetime
import zoneinfo

from chassis import idempotency
from members import privacy_contracts as contracts
from members import privacy_store as store

KEEP_DAYS_AFTER_MONTH_END = 90
CHUNK = 5_000


# --- rules -------------------------------------------------------------------

def pseudonym(member_id):
    """What an erased member's records carry instead of their phone, in every service."""
    return f"erased:{member_id}"


def month_end(moment, timezone):
    """The end of the shop-local month of `moment`: the next month's first midnight, in UTC."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    first = datetime.datetime(year, month, 1, tzinfo=zoneinfo.ZoneInfo(timezone))
    return first.astimezone(datetime.UTC)


def purge_due_at(cancelled_at, timezone, keep_days=KEEP_DAYS_AFTER_MONTH_END):
    """A cancelled shop's data is kept `keep_days` shop-local days after the end of the month of
    cancellation, and deleted from then on."""
    end = month_end(cancelled_at, timezone).astimezone(zoneinfo.ZoneInfo(timezone))
    due = (end.replace(tzinfo=None) + datetime.timedelta(days=keep_days)).replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return due.astimezone(datetime.UTC)


def answers_answered_before(as_of, timezone, days):
    """Answers given on a shop-local day D are kept through day D + `days` and deleted from the
    next midnight: as of `as_of`, every answer given before this instant goes."""
    zone = zoneinfo.ZoneInfo(timezone)
    today = as_of.astimezone(zone).date()
    start = datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time(), tzinfo=zone)
    return start.astimezone(datetime.UTC)


def now():
    return datetime.datetime.now(datetime.UTC)


# --- use cases -----------------------------------------------------------------

def _once(conn, scope, cmd, produce):
    fingerprint = cmd["fingerprint"] or idempotency.fingerprint(
        {k: str(v) for k, v in cmd.items()}, ignore=("idempotency_key", "fingerprint"))
    return idempotency.run_once(conn, scope, cmd["idempotency_key"], fingerprint, produce)


def member_data(conn, cmd):
    """Everything the members service holds on one member (JSON-ready)."""
    row = store.member_record(conn, cmd["shop_id"], cmd["member_id"], cmd["phone"])
    return {"service": "members", "member_id": str(row["member_id"]), "phone": row["phone"],
            "member": row["record"], **store.member_records(conn, row["member_id"])}


def erase_member(conn, cmd, outbox):
    """Erase a member's personal data; publish members.erased once. Idempotent on the key; a
    member already erased (another key, a concurrent call) is answered as it is, unchanged."""
    def produce():
        member = store.lock_member(conn, cmd["shop_id"], cmd["member_id"])
        if member["status"] == "erased":
            return {**contracts.ERASED.dump({"member_id": member["member_id"], "phone": None,
                                             "pseudonym": member["phone"], "erased_at": member["erased_at"]}),
                    "already_erased": True}
        at = now()
        alias = pseudonym(member["member_id"])
        store.erase(conn, cmd["shop_id"], member["member_id"], member["phone"], alias, cmd["actor"], at)
        data = contracts.ERASED.dump({"member_id": member["member_id"], "phone": member["phone"],
                                      "pseudonym": alias, "erased_at": at})
        outbox.add(conn, "members.erased", 1, cmd["shop_id"], data)
        return {**data, "phone": None, "already_erased": False}

    return _once(conn, f"erase_member:{cmd['shop_id']}", cmd, produce)


def cancel_shop(conn, cmd, outbox):
    """Cancel a shop (its API keys stop working at once); publish members.shop_cancelled once.
    Cancelling a cancelled shop changes nothing."""
    def produce():
        shop = store.shop(conn, cmd["shop_id"], lock=True)
        if shop["status"] != "cancelled":
            shop = {**shop, "status": "cancelled", "cancelled_at": now()}
            store.cancel_shop(conn, cmd["shop_id"], shop["cancelled_at"])
            outbox.add(conn, "members.shop_cancelled", 1, cmd["shop_id"], _cancelled(shop))
        return {**_cancelled(shop), "purged": shop["purged_at"] is not None}

    return _once(conn, f"cancel_shop:{cmd['shop_id']}", cmd, produce)


def _cancelled(shop):
    return contracts.SHOP_CANCELLED.dump({"shop_id": shop["shop_id"], "cancelled_at": shop["cancelled_at"],
                                          "purge_due_at": purge_due_at(shop["cancelled_at"], shop["timezone"])})


def set_answer_retention(conn, cmd, outbox):
    """Set (or clear, with null) how many days registration answers are kept. Setting the same
    value again publishes nothing."""
    shop = store.shop(conn, cmd["shop_id"], lock=True)
    if shop["answer_retention_days"] != cmd["days"]:
        store.set_answer_retention(conn, cmd["shop_id"], cmd["days"])
        outbox.add(conn, "members.answer_retention_set", 1, cmd["shop_id"], contracts.ANSWER_RETENTION_SET.dump(cmd))
    return contracts.ANSWER_RETENTION_SET.dump(cmd)


# --- the retention job -----------------------------------------------------------

def run_retention(db, outbox, as_of, chunk=CHUNK, log=None):
    """As of `as_of`: delete registration answers past each shop's retention, then purge every
    cancelled shop whose keeping time has passed (members.shop_purged once per shop). One run at
    a time across replicas (an advisory lock); chunks commit one by one, so a stopped run resumes.
    Running it twice changes nothing twice."""
    with db.connection() as guard:
        if not store.try_lock(guard, "members.retention"):
            return {"skipped": "another run is in progress"}
        try:
            answers = delete_expired_answers(db, outbox, as_of, chunk)
            purged = purge_cancelled_shops(db, outbox, as_of, chunk, log)
        finally:
            store.unlock(guard, "members.retention")
    return {"answers_deleted": answers, "shops_purged": purged}


def delete_expired_answers(db, outbox, as_of, chunk=CHUNK):
    with db.connection() as conn:
        shops = store.retention_shops(conn)
    total = 0
    for shop in shops:
        before = answers_answered_before(as_of, shop["timezone"], shop["answer_retention_days"])
        count = 0
        while True:
            with db.transaction() as conn:
                deleted = store.delete_old_answers(conn, shop["shop_id"], before, chunk)
                count += deleted
                if deleted < chunk and count:
                    outbox.add(conn, "members.answers_deleted", 1, shop["shop_id"], contracts.ANSWERS_DELETED.dump(
                        {"shop_id": shop["shop_id"], "answered_before": before, "count": count, "as_of": as_of}))
            if deleted < chunk:
                break
        total += count
    return total


def purge_cancelled_shops(db, outbox, as_of, chunk=CHUNK, log=None):
    with db.connection() as conn:
        waiting = store.awaiting_purge(conn)
    purged = []
    for shop in waiting:
        if purge_due_at(shop["cancelled_at"], shop["timezone"]) <= as_of:
            purge_shop(db, outbox, shop, as_of, chunk)
            purged.append(str(shop["shop_id"]))
            if log is not None:
                log.info("shop_purged", shop_id=str(shop["shop_id"]))
    return purged


class PurgeStuck(RuntimeError):
    """Rows of the shop that no chunk could delete (another table still refers to them)."""


def purge_shop(db, outbox, shop, as_of, chunk=CHUNK):
    """Delete every row of the shop in every table that has a shop_id (its members first), chunk
    by chunk; a table whose rows are still referred to waits for the others. Then the shop row
    becomes a tombstone (purged_at) and members.shop_purged is published, in one transaction."""
    shop_id = shop["shop_id"]
    with db.transaction() as conn:
        store.unlink_consent(conn, shop_id)
        tables = store.shop_tables(conn)
    while tables:
        blocked = []
        for table in tables:
            while True:
                with db.transaction() as conn:
                    deleted = store.delete_shop_chunk(conn, table, shop_id, chunk)
                if deleted is None:
                    blocked.append(table)
                if deleted is None or deleted < chunk:
                    break
        if blocked == tables:
            raise PurgeStuck(f"shop {shop_id}: rows of {', '.join(blocked)} are referred to by other rows")
        tables = blocked
    with db.transaction() as conn:
        if store.mark_purged(conn, shop_id, as_of):
            outbox.add(conn, "members.shop_purged", 1, shop_id, contracts.SHOP_PURGED.dump(
                {"shop_id": shop_id, "cancelled_at": shop["cancelled_at"], "purged_at": as_of}))
