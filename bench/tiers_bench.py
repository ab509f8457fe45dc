"""Tier bench entry `tier_cycle_1m`: one shop's monthly cycle end over 1,000,000 members.

The members and their daily points rows are written directly in SQL (generate_series,
foreign-key triggers off for the load only) into the members database, the shop gets
three tiers (Basic 500, Gold 1,000, Platinum 2,000; window 1 month; monthly cycle), then
the cycle runs as of one hour after the first cycle end after the settings were made.
`seconds` times the cycle from the call to its answer (window sums, tiers, decisions and
members.tier_changed events committed); target < 60 s.

Each member holds a tier decided before the cycle end (none, Basic, Gold, Platinum: a
quarter each) and has four days of points (three in the window, one two months before
it): 7 in 10 received what keeps their tier, 3 in 10 what moves them one step (up, or
from Platinum down to none), so the cycle changes 30% of the members (300,000
decisions and members.tier_changed events).

    python bench/run.py tier_cycle_1m      # through the running stack (RPC run_tier_cycle)
    python bench/tiers_bench.py            # alone: a fresh database, the job in this process
"""
import calendar
import datetime
import json
import os
import pathlib
import sys
import time
import uuid
import zoneinfo

import psycopg

MEMBERS = int(os.environ.get("BENCH_TIER_MEMBERS", 1_000_000))
BKK = zoneinfo.ZoneInfo("Asia/Bangkok")
SETTINGS = {"tiers": [{"name": "Basic", "threshold": 500}, {"name": "Gold", "threshold": 1000},
                      {"name": "Platinum", "threshold": 2000}],
            "window_months": 1, "downgrade": {"mode": "cycle", "cycle": "monthly", "months": None}}
# n % 4 -> the tier held before the cycle (none, Basic, Gold, Platinum); window sums 300, 750,
# 1,500, 2,400 (none, Basic, Gold, Platinum): the held tier's when n % 10 < 7, else the next one's.
LOAD = ["SET session_replication_role = replica", """
INSERT INTO members (member_id, shop_id, phone, tier_id, tier_reached_at)
SELECT md5('bench-tier-' || n)::uuid, %(shop)s, '+6684' || lpad(n::text, 7, '0'),
       (SELECT tier_id FROM tiers WHERE shop_id = %(shop)s AND position = n %% 4), %(reached)s
FROM generate_series(0, %(members)s - 1) n""", """
INSERT INTO member_daily_points (member_id, day, shop_id, points)
SELECT md5('bench-tier-' || n)::uuid, %(end)s::date - d, %(shop)s,
       (ARRAY[100, 250, 500, 800])[(CASE WHEN n %% 10 < 7 THEN n %% 4 ELSE (n %% 4 + 1) %% 4 END) + 1]
FROM generate_series(0, %(members)s - 1) n, unnest(ARRAY[1, 5, 10, 60]) d""",
        "SET session_replication_role = origin",
        # what autovacuum would have done to tables a month old: statistics, the visibility map
        "VACUUM (ANALYZE) members", "VACUUM (ANALYZE) member_daily_points"]


def cycle_end_after_now():
    """The last day of this month (shop time) and the moment to run the cycle: 1 h after it ends."""
    today = datetime.datetime.now(BKK).date()
    end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return end, datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(1), BKK)


def load(dsn, shop_id, end, members=MEMBERS):
    started = time.perf_counter()
    reached = datetime.datetime.combine(end - datetime.timedelta(days=40), datetime.time(12), BKK)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in LOAD:
            conn.execute(statement, {"shop": shop_id, "members": members, "end": end, "reached": reached})
    return round(time.perf_counter() - started, 1)


def outcome(dsn, shop_id, seconds, result, load_seconds):
    with psycopg.connect(dsn, autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM outbox WHERE routing_key = 'tier_changed.v1'").fetchone()[0]
        decisions = conn.execute("SELECT count(*) FROM tier_decisions WHERE shop_id = %s", (shop_id,)).fetchone()[0]
    assert result["changed"] == decisions == events, (result, decisions, events)
    return {"seconds": round(seconds, 2), "members": MEMBERS, "changed": result["changed"], "events": events,
            "members_per_s": round(MEMBERS / seconds), "load_seconds": load_seconds}


def tier_cycle(stack, members_component):
    """Through the stack: a shop of its own, settings and the cycle by RPC on the running
    members service (its relay publishes the events meanwhile, as in production)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    end, as_of = cycle_end_after_now()
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=900) as rpc:
        shop_id = rpc.members.create_shop({"idempotency_key": f"tier-bench-{uuid.uuid4()}",
                                           "name": "Tier bench"})["shop"]["shop_id"]
        rpc.members.set_tier_settings({"shop_id": shop_id, **SETTINGS})
        load_seconds = load(stack.dsn(members_component), shop_id, end)
        started = time.perf_counter()
        result = rpc.members.run_tier_cycle({"as_of": as_of.isoformat(), "shop_id": shop_id})
        seconds = time.perf_counter() - started
    return outcome(stack.dsn(members_component), shop_id, seconds, result, load_seconds)


def main():
    """Alone: a fresh members database, the settings and the cycle called in this process."""
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    from chassis import migrate
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox
    from members import jobs, tier_handlers

    root = pathlib.Path(__file__).resolve().parents[1]
    server = os.environ.get("PG_BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn = migrate._with_database(server, f"bench_tiers_{uuid.uuid4().hex[:8]}")
    migrate.ensure_database(dsn)
    pool = None
    try:
        migrate.apply(dsn, root / "services" / "members" / "migrations")
        shop_id = str(uuid.uuid4())
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO shops (shop_id, name, timezone) VALUES (%s, 'Bench', 'Asia/Bangkok')",
                         (shop_id,))
        pool = make_pool(dsn, min_size=1, max_size=3)
        db, outbox = Store(pool), WorkerOutbox({})
        with db.transaction() as conn:
            tier_handlers.set_settings(conn, {"shop_id": shop_id, **SETTINGS}, outbox)
        end, as_of = cycle_end_after_now()
        load_seconds = load(dsn, shop_id, end)
        started = time.perf_counter()
        result = jobs.tier_cycle(db, outbox, as_of, shop_id=shop_id)
        seconds = time.perf_counter() - started
        again = jobs.tier_cycle(db, outbox, as_of, shop_id=shop_id)
        assert again["changed"] == 0 and again["cycle_ends"] == 0, again
        sys.stdout.write(json.dumps({"tier_cycle_1m": outcome(dsn, shop_id, seconds, result, load_seconds)}) + "\n")
    finally:
        if pool is not None:
            pool.close()
        migrate.drop_database(dsn)


if __name__ == "__main__":
    main()
