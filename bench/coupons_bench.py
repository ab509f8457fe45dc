"""Rewards bench entries: the data `redeem_rpc` needs, and a campaign of a million coupons.

redeem_rpc: members (phones 082xxxxxxx, the load's redeemers) get points by bulk SQL in the
points database (triggers off for the load only), then load.py redeems a reward of 1
point with unlimited stock through rewards.redeem (RPC): each redemption is a reservation
in rewards, a spend in points and a coupon, across two services.

issue_1m_coupons: one rewards.issue_coupons RPC with 1,000,000 phones, timed from the call
to its answer (codes generated, coupons and their events committed), then until the relay
has published every rewards.coupon_issued event.
"""
import time

import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

LOAD_POINTS = ["SET session_replication_role = replica", """
INSERT INTO accounts (shop_id, phone, balance, entry_seq)
SELECT %(shop)s, '+6682' || lpad(a::text, 7, '0'), %(points)s, 1 FROM generate_series(0, %(members)s - 1) a""", """
INSERT INTO entries (shop_id, phone, kind, points, balance_after, account_seq, source, actor_type)
SELECT %(shop)s, '+6682' || lpad(a::text, 7, '0'), 'adjust', %(points)s, %(points)s, 1, 'bench', 'system'
FROM generate_series(0, %(members)s - 1) a""", """
INSERT INTO lots (shop_id, phone, entry_id, points, remaining, expires_at)
SELECT shop_id, phone, entry_id, points, points, NULL FROM entries WHERE source = 'bench' AND phone LIKE '+6682%%'""",
               "SET session_replication_role = origin", "ANALYZE accounts", "ANALYZE lots"]


def prepare_redeem(stack, points_component, shop_id, members, points=1_000_000):
    with psycopg.connect(stack.dsn(points_component), autocommit=True) as conn:
        for statement in LOAD_POINTS:
            conn.execute(statement, {"shop": shop_id, "members": members, "points": points})
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=30) as rpc:
        reward = rpc.rewards.create_reward({"shop_id": shop_id, "kind": "in_store", "name": "Bench cookie",
                                            "points_cost": 1, "coupon_days": 30})
    return reward["reward_id"]


def issue_coupons(stack, rewards_component, shop_id, count=1_000_000):
    phones = [f"+6683{n:07d}" for n in range(count)]
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=600) as rpc:
        reward = rpc.rewards.create_reward({"shop_id": shop_id, "kind": "code", "name": "Campaign voucher",
                                            "points_cost": 1, "coupon_days": 14})
        started = time.perf_counter()
        result = rpc.rewards.issue_coupons({"idempotency_key": f"bench-{reward['reward_id']}", "shop_id": shop_id,
                                            "reward_id": reward["reward_id"], "phones": phones,
                                            "source": "campaign", "source_ref": "bench",
                                            "actor": {"type": "internal_system", "id": "bench"}})
        seconds = time.perf_counter() - started
    assert result["issued"] == count, result
    with psycopg.connect(stack.dsn(rewards_component), autocommit=True) as conn:
        unique = conn.execute("SELECT count(DISTINCT code) FROM coupons WHERE reward_id = %s",
                              (reward["reward_id"],)).fetchone()[0]
        while conn.execute("SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)").fetchone()[0]:
            time.sleep(0.5)
        published = time.perf_counter() - started
    assert unique == count
    return {"seconds": round(seconds, 2), "coupons": count, "coupons_per_s": round(count / seconds),
            "events_published_seconds": round(published, 2)}
