"""Periodic work of the points service, each a function of `as_of` so that tests (and
ops) can run it for any moment. One run at a time across replicas (an advisory lock);
chunks of accounts are committed one by one, so a run can be stopped and resumed.

    python -m points.jobs --config services/points/config.yaml expire --as-of 2027-01-01T00:00:00+07:00
    python -m points.jobs --config services/points/config.yaml warn
    python -m points.jobs --config services/points/config.yaml reconcile
"""
import argparse
import datetime
import json
import sys

from chassis import config as config_module
from chassis import logs
from chassis.db import Store, make_pool
from chassis.outbox import WorkerOutbox
from points import event_contracts, store

CHUNK = 20_000
EXPIRED = event_contracts.PointsExpired()
EXPIRING = event_contracts.PointsExpiringSoon()


def _exclusive(db, name, run):
    with db.connection() as guard:
        if not store.jobs.try_lock(guard, name):
            return {"skipped": "another run is in progress"}
        try:
            return run()
        finally:
            store.jobs.unlock(guard, name)


def expire(db, outbox, as_of, chunk=CHUNK):
    """Expire every lot whose date passed before `as_of`: one expire entry and one
    points.expired event per account. Running it again expires nothing twice."""
    def run():
        totals = {"accounts": 0, "lots": 0, "points": 0}
        while True:
            with db.transaction() as conn:
                rows = store.jobs.expire_chunk(conn, as_of, chunk)
                if not rows:
                    return totals
                outbox.add_many(conn, "points.expired", 1, ((row["shop_id"], EXPIRED.dump({
                    **row, "as_of": as_of})) for row in rows))
            totals["accounts"] += len(rows)
            totals["lots"] += sum(row["lots"] for row in rows)
            totals["points"] += -sum(row["points"] for row in rows)

    return _exclusive(db, "points.expire", run)


def warn(db, outbox, as_of, chunk=CHUNK):
    """Publish points.expiring_soon once per account for points expiring within the shop's
    warning days after `as_of`; each lot is warned about once."""
    def run():
        totals = {"accounts": 0, "points": 0}
        while True:
            with db.transaction() as conn:
                rows = store.jobs.warn_chunk(conn, as_of, chunk)
                if not rows:
                    return totals
                outbox.add_many(conn, "points.expiring_soon", 1, ((row["shop_id"], EXPIRING.dump(row))
                                                                  for row in rows))
            totals["accounts"] += len(rows)
            totals["points"] += sum(row["points"] for row in rows)

    return _exclusive(db, "points.warn", run)


def reconcile(db, limit=1000):
    """Every account whose balance is not the sum of its entries or of its lots (none, if all is well)."""
    with db.connection() as conn:
        drift = store.jobs.drift(conn, limit)
        accounts = store.jobs.count_accounts(conn)
    return {"accounts": accounts, "drift": [{**row, "shop_id": str(row["shop_id"])} for row in drift]}


def main(argv=None):
    parser = argparse.ArgumentParser(description="points jobs, run as of a given time")
    parser.add_argument("--config", required=True)
    parser.add_argument("job", choices=["expire", "warn", "reconcile"])
    parser.add_argument("--as-of", type=datetime.datetime.fromisoformat,
                        default=datetime.datetime.now(datetime.UTC))
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone (e.g. 2027-01-01T00:00:00+07:00)")
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
    db, outbox = Store(pool), WorkerOutbox({})
    try:
        if args.job == "expire":
            result = expire(db, outbox, args.as_of)
        elif args.job == "warn":
            result = warn(db, outbox, args.as_of)
        else:
            result = reconcile(db)
    finally:
        pool.close()
    logs.get_logger("points.jobs").info(f"{args.job}_done", **{k: v for k, v in result.items() if k != "drift"})
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    if result.get("drift"):
        sys.exit(1)


if __name__ == "__main__":
    main()
