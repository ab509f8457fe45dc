"""Ledger bench entries: expiry of a million lots, and history pages of a long account.

Data is bulk-loaded with SQL (triggers off for the load only: the bench measures the
job and the reads, not the loading), then the real code runs: the expiry job as its
command line runs it, history pages over RPC as the gateway asks for them.
"""
import json
import random
import statistics
import subprocess
import sys
import time

import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

LOAD_LOTS = ["SET session_replication_role = replica", """
INSERT INTO accounts (shop_id, phone, balance, entry_seq)
SELECT %(shop)s, '+6690' || lpad(a::text, 7, '0'), %(per)s * 10, %(per)s FROM generate_series(1, %(accounts)s) a""", """
INSERT INTO entries (shop_id, phone, kind, points, balance_after, account_seq, source, actor_type)
SELECT %(shop)s, '+6690' || lpad(a::text, 7, '0'), 'earn', 10, 10 * n, n, 'bench', 'system'
FROM generate_series(1, %(accounts)s) a, generate_series(1, %(per)s) n""", """
INSERT INTO lots (shop_id, phone, entry_id, points, remaining, expires_at)
SELECT shop_id, phone, entry_id, 10, 10, now() + interval '10 days' FROM entries WHERE source = 'bench'""",
             "SET session_replication_role = origin", "ANALYZE accounts", "ANALYZE entries", "ANALYZE lots"]
LOAD_HISTORY = ["SET session_replication_role = replica", """
INSERT INTO accounts (shop_id, phone, balance, entry_seq) VALUES (%(shop)s, %(phone)s, %(n)s * 3, %(n)s)""", """
INSERT INTO entries (shop_id, phone, kind, points, balance_after, account_seq, source, actor_type, created_at)
SELECT %(shop)s, %(phone)s, 'earn', 3, 3 * n, n, 'counter', 'staff', now() - (%(n)s - n) * interval '1 hour'
FROM generate_series(1, %(n)s) n""", "SET session_replication_role = origin", "ANALYZE entries"]


def expire_lots(stack, points_component, shop_id, lots=1_000_000, lots_per_account=5):
    accounts = max(1, lots // lots_per_account)
    dsn = stack.dsn(points_component)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in LOAD_LOTS:
            conn.execute(statement, {"shop": shop_id, "accounts": accounts, "per": lots_per_account})
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "points.jobs", "--config", str(points_component.config), "expire", "--as-of",
         time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 11 * 86400))],
        env=stack.env(), capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    result = json.loads(out.stdout.splitlines()[-1])
    with psycopg.connect(dsn, autocommit=True) as conn:
        published_at = None
        while published_at is None:
            if not conn.execute("SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)").fetchone()[0]:
                published_at = time.perf_counter()
            else:
                time.sleep(0.5)
    return {"seconds": round(seconds, 2), "lots": result["lots"], "accounts": result["accounts"],
            "events_published_seconds": round(published_at - started, 2),
            "lots_per_s": round(result["lots"] / seconds)}


def history_pages(stack, points_component, shop_id, entries=10_000, pages=400, limit=50):
    phone = "+66899999999"
    with psycopg.connect(stack.dsn(points_component), autocommit=True) as conn:
        for statement in LOAD_HISTORY:
            conn.execute(statement, {"shop": shop_id, "phone": phone, "n": entries})
        ids = [row[0] for row in conn.execute(
            "SELECT entry_id FROM entries WHERE phone = %s ORDER BY entry_id", (phone,))]
    latencies = []
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=30) as rpc:
        for i in range(pages):
            before = None if i % 10 == 0 else random.choice(ids)  # first pages and pages deep in history
            request = {"shop_id": shop_id, "phone": phone, "limit": limit, "before": before}
            if i % 4 == 3:
                request["kinds"] = ["earn"]
            begin = time.perf_counter()
            page = rpc.points.history(request)
            latencies.append(time.perf_counter() - begin)
            assert len(page["entries"]) == limit or before is not None
    latencies.sort()
    return {"p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[int(0.99 * len(latencies)) - 1] * 1000, 2),
            "pages": pages, "entries": entries, "page_size": limit}
