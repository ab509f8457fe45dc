"""Periodic work of the members service, each a function of `as_of` so that tests (and ops)
can run it for any moment; one run at a time across replicas (an advisory lock).

    python -m members.jobs tier-cycle --as-of 2027-01-01T00:00:00+07:00 --config services/members/config.yaml
    python -m members.jobs retention --as-of 2027-01-01T00:00:00+07:00 --config services/members/config.yaml

tier-cycle: every shop whose cycle ends (cycle mode; missed ones oldest first) or whose members' tier expiry (tier
expiry mode) is due as of `as_of` is evaluated, in set-based chunks of members each
committed with its decisions and members.tier_changed events. A cycle end is evaluated
once (tier_cycle_runs); an interrupted one is finished by the next run, which changes
nothing twice.
"""
import argparse
import datetime
import json
import sys

from chassis import config as config_module
from chassis import logs
from chassis.db import Store, make_pool
from chassis.outbox import WorkerOutbox
from members import privacy, tier_contracts, tier_cycle_store, tiers

CHUNK = 50_000
log = logs.get_logger("members.jobs")


def _exclusive(db, name, run):
    with db.connection() as guard:
        if not tier_cycle_store.try_lock(guard, name):
            return {"skipped": "another run is in progress"}
        try:
            return run()
        finally:
            tier_cycle_store.unlock(guard, name)


def tier_cycle(db, outbox, as_of, shop_id=None, chunk=CHUNK):
    """Evaluate the due cycle ends and tier expiries of every shop (or one) as of `as_of`.
    Returns counts: shops, cycle_ends evaluated, tiers expired, members changed."""
    def run():
        totals = {"shops": 0, "cycle_ends": 0, "expired": 0, "changed": 0}
        with db.connection() as conn:
            programs = tier_cycle_store.programs(conn, shop_id)
        for program in programs:
            totals["shops"] += 1
            if program["downgrade_mode"] == "cycle":
                with db.connection() as conn:
                    last_done = tier_cycle_store.last_cycle(conn, str(program["shop_id"]))
                for end_day in tiers.due_cycle_ends(as_of, program["cycle"], program["timezone"], last_done,
                                                    program["started_at"]):
                    changed = _cycle_end(db, outbox, program, end_day, chunk)
                    if changed is not None:
                        totals["cycle_ends"] += 1
                        totals["changed"] += changed
            else:
                expired, changed = _expire(db, outbox, program, as_of, chunk)
                totals["expired"] += expired
                totals["changed"] += changed
        return totals

    return _exclusive(db, "members.tier_cycle", run)


def _cycle_end(db, outbox, program, end_day, chunk):
    """Evaluate the shop's cycle end `end_day` (its last day, shop time) unless it was done.
    Returns the members changed, or None when it was done already."""
    shop_id, tz = str(program["shop_id"]), program["timezone"]
    end_at = tiers.end_of_day(end_day, tz)
    start, end = tiers.window(end_day, program["window_months"])
    after, changed = tier_cycle_store.FIRST_UUID, 0
    with db.connection() as conn:  # one session: the window sums are its temporary table
        if tier_cycle_store.cycle_done(conn, shop_id, end_day):
            return None
        tier_cycle_store.prepare_window_sums(conn, shop_id, start, end)
        try:
            bounds = tier_cycle_store.chunk_bounds(conn, shop_id, chunk)
            for upper in bounds:
                with conn.transaction():
                    rows = tier_cycle_store.cycle_chunk(conn, shop_id=shop_id, after=after, upper=upper,
                                                        start=start, end=end, decided_at=end_at,
                                                        version=program["version"])
                    _publish(conn, outbox, shop_id, rows, "cycle_end", program["version"])
                    changed += len(rows)
                    if upper == bounds[-1]:
                        tier_cycle_store.record_cycle(conn, shop_id, end_day, program["version"], changed)
                after = upper
        finally:
            tier_cycle_store.drop_window_sums(conn)
    log.info("tier_cycle_end_evaluated", shop_id=shop_id, cycle_end=str(end_day), changed=changed)
    return changed


def _expire(db, outbox, program, as_of, chunk):
    """Tiers held longer than the shop's expiry months, each decided as of its own expiry.
    Returns (tiers expired, members whose tier changed)."""
    shop_id = str(program["shop_id"])
    expired = changed = 0
    while True:
        with db.transaction() as conn:
            rows = tier_cycle_store.expiry_chunk(
                conn, shop_id=shop_id, tz=program["timezone"], months=program["expiry_months"],
                window_months=program["window_months"], as_of=as_of, limit=chunk, version=program["version"])
            moved = [row for row in rows if row["from_tier_id"] != row["to_tier_id"]]
            _publish(conn, outbox, shop_id, moved, "tier_expired", program["version"])
        if not rows:
            return expired, changed
        expired += len(rows)
        changed += len(moved)


def _publish(conn, outbox, shop_id, rows, reason, version):
    if rows:
        outbox.add_many(conn, "members.tier_changed", 1,
                        ((shop_id, tier_contracts.tier_changed_data(row, reason, version)) for row in rows))


def _as_of(text):
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a time zone (e.g. 2027-01-01T00:00:00+07:00)")
    return moment


def parser():
    """One sub-command per job; each takes --config and --as-of (default now)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", required=True)
    common.add_argument("--as-of", type=_as_of, default=datetime.datetime.now(datetime.UTC))
    top = argparse.ArgumentParser(description="members jobs, run as of a given time")
    jobs = top.add_subparsers(dest="job", required=True)
    cycle = jobs.add_parser("tier-cycle", parents=[common], help="evaluate due tier cycle ends and expiries")
    cycle.add_argument("--shop-id", default=None)
    jobs.add_parser("retention", parents=[common], help="registration answers past retention, cancelled shops due")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
    db, outbox = Store(pool), WorkerOutbox({})
    try:
        if args.job == "tier-cycle":
            result = tier_cycle(db, outbox, args.as_of, shop_id=args.shop_id)
        elif args.job == "retention":
            result = privacy.run_retention(db, outbox, args.as_of)
    finally:
        pool.close()
    log.info(f"{args.job.replace('-', '_')}_done", **result)
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
