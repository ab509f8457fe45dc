"""Personal-data bench entry: the purge of a cancelled shop of 100,000 members.

purge_shop_100k: a new shop gets 100,000 registered members in the members database (each
with an answer, a tag and a profile change) and 100,000 points accounts with an entry and
a lot each in the points database (bulk SQL, triggers off for the seeding only). The shop is
cancelled (backdated past its 90 days), then members.run_retention is timed from the call
to its answer (members' rows deleted in chunks of 5,000, members.shop_purged committed), and
the points service until its copy of the shop is gone (the event relayed, consumed, and the
accounts, entries and lots deleted in chunks).
"""
import time
import uuid

import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

SEED_MEMBERS = ["""
INSERT INTO questions (question_id, shop_id, position, kind, prompt)
VALUES (%(question)s, %(shop)s, 1, 'text', 'What do you do?')""", """
INSERT INTO members (member_id, shop_id, phone, status, name, gender, email, consent_version, consented_at,
                     registered_at, registered_via)
SELECT gen_random_uuid(), %(shop)s, '+6688' || lpad(n::text, 7, '0'), 'imported', 'Member ' || n, 'female',
       'm' || n || '@example.com', NULL, now(), now(), 'import'
FROM generate_series(0, %(count)s - 1) AS n""", """
INSERT INTO answers (member_id, question_id, shop_id, answer)
SELECT member_id, %(question)s, shop_id, '"office worker"'::jsonb FROM members WHERE shop_id = %(shop)s""", """
INSERT INTO member_tags (member_id, shop_id, tag, added_by)
SELECT member_id, shop_id, 'vip', '{"type": "system"}'::jsonb FROM members WHERE shop_id = %(shop)s""", """
INSERT INTO member_changes (member_id, shop_id, actor, kind, changes)
SELECT member_id, shop_id, '{"type": "system"}'::jsonb, 'updated', '{"name": {"old": "A", "new": "B"}}'::jsonb
FROM members WHERE shop_id = %(shop)s""", "ANALYZE members"]
SEED_POINTS = ["SET session_replication_role = replica", """
INSERT INTO accounts (shop_id, phone, balance, entry_seq)
SELECT %(shop)s, '+6688' || lpad(n::text, 7, '0'), 100, 1 FROM generate_series(0, %(count)s - 1) AS n""", """
INSERT INTO entries (shop_id, phone, kind, points, balance_after, account_seq, source, actor_type)
SELECT %(shop)s, '+6688' || lpad(n::text, 7, '0'), 'adjust', 100, 100, 1, 'bench', 'system'
FROM generate_series(0, %(count)s - 1) AS n""", """
INSERT INTO lots (shop_id, phone, entry_id, points, remaining)
SELECT shop_id, phone, entry_id, points, points FROM entries WHERE shop_id = %(shop)s""",
               "SET session_replication_role = origin", "ANALYZE accounts", "ANALYZE entries", "ANALYZE lots"]


def _wait(predicate, timeout=600):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench waited too long")
        time.sleep(0.2)


def purge_shop(stack, members_component, points_component, count=100_000):
    members_dsn, points_dsn = stack.dsn(members_component), stack.dsn(points_component)
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=600) as rpc:
        shop_id = rpc.members.create_shop({"idempotency_key": str(uuid.uuid4()), "name": "Bench purge"})["shop"][
            "shop_id"]
        seed = {"shop": shop_id, "count": count, "question": uuid.uuid4()}
        with psycopg.connect(members_dsn, autocommit=True) as conn:
            for statement in SEED_MEMBERS:
                conn.execute(statement, seed)
        with psycopg.connect(points_dsn, autocommit=True) as conn:
            _wait(lambda: conn.execute("SELECT 1 FROM shops WHERE shop_id = %s", (shop_id,)).fetchone())
            for statement in SEED_POINTS:
                conn.execute(statement, {"shop": shop_id, "count": count})
        rpc.members.cancel_shop({"idempotency_key": str(uuid.uuid4()), "shop_id": shop_id})
        with psycopg.connect(members_dsn, autocommit=True) as conn:
            conn.execute("UPDATE shops SET cancelled_at = '2026-01-15T03:00:00Z' WHERE shop_id = %s", (shop_id,))
        started = time.perf_counter()
        result = rpc.members.run_retention({"as_of": "2026-06-01T00:00:00+07:00"})
        members_seconds = time.perf_counter() - started
    assert shop_id in result["shops_purged"], result
    with psycopg.connect(points_dsn, autocommit=True) as conn:
        _wait(lambda: not conn.execute("SELECT 1 FROM shops WHERE shop_id = %s", (shop_id,)).fetchone())
        points_seconds = time.perf_counter() - started
        left = conn.execute("SELECT count(*) FROM entries WHERE shop_id = %s", (shop_id,)).fetchone()[0]
    assert left == 0
    return {"members": count, "seconds": round(points_seconds, 2), "members_purge_seconds": round(members_seconds, 2),
            "points_purged_seconds": round(points_seconds, 2)}
