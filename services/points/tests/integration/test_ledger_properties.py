"""Random sequences of ledger operations against the real database keep the invariants:
balance = sum of entries = sum of lot remainders, never negative."""
import datetime
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chassis import errors
from chassis.db import Store, make_pool
from chassis.outbox import WorkerOutbox
from points import channels, handlers, jobs, spending, voiding

from .conftest import BRANCH, SHOP, check_ledger

ACTOR = {"type": "staff", "id": "prop"}
counter = itertools.count()

operations = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 5000)),
    st.tuples(st.just("spend"), st.integers(1, 150)),
    st.tuples(st.just("refund_spend"), st.integers(0, 10)),
    st.tuples(st.just("void"), st.integers(0, 10)),
    st.tuples(st.just("adjust"), st.integers(-100, 100).filter(bool)),
    st.tuples(st.just("order_refund"), st.integers(1, 4000)),
    st.tuples(st.just("expire"), st.integers(0, 90)),
), max_size=14)


@pytest.fixture
def ledger_db(dsn):
    pool = make_pool(dsn, min_size=1, max_size=2)
    store = Store(pool)
    with store.transaction() as conn:
        conn.execute("INSERT INTO shops (shop_id, timezone) VALUES (%s, 'Asia/Bangkok')", (SHOP,))
        conn.execute("INSERT INTO branches (branch_id, shop_id) VALUES (%s, %s)", (BRANCH, SHOP))
        conn.execute("INSERT INTO earn_rules (shop_id, version, points, unit_satang) VALUES (%s, 1, 1, 2500)", (SHOP,))
        conn.execute("INSERT INTO points_settings (shop_id, expiry_mode, expiry_months) VALUES (%s, 'months', 1)",
                     (SHOP,))
    yield store
    pool.close()


def keyed(**body):
    return {"idempotency_key": str(uuid.uuid4()), "fingerprint": None, "shop_id": SHOP, **body}


def apply(store, phone, op, value, state, start):
    outbox = WorkerOutbox({})
    with store.transaction() as conn:
        if op == "earn":
            result, _ = handlers.earn(conn, keyed(branch_id=BRANCH, phone=phone, amount=value * 100,
                                                  receipt_no=None, actor=ACTOR), outbox)
            if result["entry_id"]:
                state["sales"].append(result["sale_id"])
        elif op == "spend":
            result, _ = spending.spend(conn, keyed(phone=phone, points=value, reason="r", actor=ACTOR), outbox)
            state["spends"].append(result["spend_key"])
        elif op == "refund_spend" and state["spends"]:
            key = state["spends"][value % len(state["spends"])]
            spending.refund_spend(conn, {"shop_id": SHOP, "spend_key": key, "reason": "r", "actor": ACTOR}, outbox)
        elif op == "void" and state["sales"]:
            sale_id = state["sales"][value % len(state["sales"])]
            voiding.void(conn, keyed(sale_id=sale_id, entry_id=None, reason="r", actor=ACTOR), outbox)
        elif op == "adjust":
            spending.credit(conn, keyed(phone=phone, points=value, kind="adjust", source="admin", reason="r",
                                        branch_id=None, actor=ACTOR), outbox)
        elif op == "order_refund":
            if not state["order"]:
                channels.record_order(conn, keyed(order_id=f"o-{phone}", phone=phone, amount=400000,
                                                  branch_id=None, actor=ACTOR), outbox)
                state["order"] = True
            channels.refund_order(conn, keyed(order_id=f"o-{phone}", refund_id=str(uuid.uuid4()), amount=value * 100,
                                              actor=ACTOR), outbox)
    if op == "expire":
        jobs.expire(store, outbox, start + datetime.timedelta(days=value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_sequences_keep_balance_entries_and_lots_equal(ledger_db, db, ops):
    phone = f"+6681{next(counter):07d}"
    state = {"sales": [], "spends": [], "order": False}
    start = datetime.datetime.now(datetime.UTC)
    for op, value in ops:
        try:
            apply(ledger_db, phone, op, value, state, start)
        except errors.ServiceError as refused:
            # business refusals (short balance, already voided, refund too large) change nothing
            assert refused.code in {"insufficient_points", "already_voided", "refund_exceeds_order",
                                    "account_not_found", "nothing_to_void"}, refused.code
        check_ledger(db)
