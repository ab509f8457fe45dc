import time

import eventlet


def test_eight_slow_queries_in_one_process_overlap(store):
    """Under eventlet, psycopg must not block the hub (stack-notes, pitfall 1)."""

    def slow_query():
        with store.connection() as conn:
            conn.execute("SELECT pg_sleep(0.5)")

    pool = eventlet.GreenPool(8)
    started = time.perf_counter()
    for _ in range(8):
        pool.spawn(slow_query)
    pool.waitall()
    elapsed = time.perf_counter() - started
    # serialised they take 4 s; overlapping, a little over 0.5 s
    assert elapsed < 1.5, f"8 x 0.5 s queries took {elapsed:.2f} s: the hub is blocked"


def test_the_process_uses_the_cooperative_wait_function():
    from psycopg import waiting

    from chassis.db import ensure_cooperative_wait

    assert ensure_cooperative_wait() is waiting.wait_select


def test_transaction_rolls_back_on_error(store):
    with store.transaction() as conn:
        conn.execute("CREATE TABLE t (x int)")
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("business rule refused")
    except RuntimeError:
        pass
    with store.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM t").fetchone()["n"] == 0
