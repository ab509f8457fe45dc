"""Closing members' stamp cards, as of any time: expiry (a card's validity ended) and a
suspension's reset; one run at a time (an advisory lock), in chunks, safe to run twice.

    python -m points.stamps --config services/points/config.yaml expire --as-of 2027-01-01T00:00:00+07:00
"""
import argparse
import datetime
import json
import sys

from chassis import logs
from points import store

CHUNK = 20_000


def _exclusive(db, name, run):
    with db.connection() as guard:
        if not store.stamp_ledger.try_lock(guard, name):
            return {"skipped": "another run is in progress"}
        try:
            return run()
        finally:
            store.stamp_ledger.unlock(guard, name)


def _closing_events(outbox, conn, event_type, rows, at):
    return outbox.add_many(conn, event_type, 1, ((row["shop_id"], {
        "card_id": str(row["card_id"]), "phone": row["phone"], "stamps": row["stamps"], "card_no": row["card_no"],
        "as_of": at.isoformat()}) for row in rows if row["stamps"] > 0))


def expire_members(db, outbox, as_of, now, chunk=CHUNK):
    """Close every member's card whose validity ended before `as_of`: its stamps expire (one
    stamps.expired each), the next stamp starts a new card. Safe to run twice."""
    def run():
        totals = {"cards": 0, "stamps": 0}
        while True:
            with db.transaction() as conn:
                rows = store.stamp_ledger.close_chunk(conn, "expire", store.stamp_ledger.EXPIRE_WHERE, now, chunk,
                                                      as_of=as_of)
                if not rows:
                    return totals
                _closing_events(outbox, conn, "stamps.expired", rows, as_of)
            totals["cards"] += len(rows)
            totals["stamps"] += sum(row["stamps"] for row in rows)

    return _exclusive(db, "stamps.expire", run)


def finish_resets(db, outbox, now, chunk=CHUNK):
    """Reset every member's stamps of each suspended card not reset yet (stamps.reset each), then
    mark the card reset. Safe to run twice and to resume."""
    def run():
        totals = {"cards": 0, "members": 0, "stamps": 0}
        with db.connection() as conn:
            pending = store.stamp_ledger.suspended_pending(conn)
        for card in pending:
            while True:
                with db.transaction() as conn:
                    rows = store.stamp_ledger.close_chunk(conn, "reset", store.stamp_ledger.RESET_WHERE, now, chunk,
                                                          card_id=card["card_id"])
                    if not rows:
                        store.stamp_ledger.reset_done(conn, card["card_id"], now)
                        break
                    _closing_events(outbox, conn, "stamps.reset", rows, now)
                totals["members"] += len(rows)
                totals["stamps"] += sum(row["stamps"] for row in rows)
            totals["cards"] += 1
        return totals

    return _exclusive(db, "stamps.reset", run)


def main(argv=None):
    from chassis import config as config_module
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox

    parser = argparse.ArgumentParser(description="stamp card jobs, run as of a given time")
    parser.add_argument("--config", required=True)
    parser.add_argument("job", choices=["expire", "reset"])
    parser.add_argument("--as-of", type=datetime.datetime.fromisoformat,
                        default=datetime.datetime.now(datetime.UTC))
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone (e.g. 2027-01-01T00:00:00+07:00)")
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
    db, outbox, now = Store(pool), WorkerOutbox({}), datetime.datetime.now(datetime.UTC)
    try:
        if args.job == "expire":
            result = expire_members(db, outbox, args.as_of, now)
        else:
            result = finish_resets(db, outbox, now)
    finally:
        pool.close()
    logs.get_logger("points.stamps").info(f"stamps_{args.job}_done", **result)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
