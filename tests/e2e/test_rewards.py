"""Rewards through the gateway with every service running: the catalogue, redemptions that
spend real points, coupons at the counter, deliveries, reports, and redemptions that
survive a kill -9 of either service."""
import concurrent.futures
import datetime
import os
import signal
import uuid

import httpx
import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

from .conftest import auth, eventually, launcher

REWARDS = next(c for c in launcher.COMPONENTS if c.name == "rewards")
POINTS = next(c for c in launcher.COMPONENTS if c.name == "points")


def give_points(api, shop, phone, amount):
    reply = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"]),
                     json={"phone": phone, "amount": amount})
    assert reply.status_code == 201, reply.text
    return reply.json()["balance"]


def create_reward(api, shop, **terms):
    reply = api.post(f"/shops/{shop['shop_id']}/rewards", headers=auth(shop["admin"], False),
                     json={"kind": "in_store", "name": "Free latte", "points_cost": 30, **terms})
    assert reply.status_code == 201, reply.text
    return reply.json()


def balance(api, shop, phone):
    reply = api.get(f"/shops/{shop['shop_id']}/members/by-phone/{phone}/points/lots",
                    headers=auth(shop["staff"], False))
    assert reply.status_code == 200, reply.text
    return reply.json()["balance"]


def redeem_many(stack, shop, phone, reward_id, count, workers=25):
    url = f"{stack.gateway_url}/shops/{shop['shop_id']}/members/by-phone/{phone}/redemptions"

    def one(_):
        with httpx.Client(timeout=60) as client:
            reply = client.post(url, headers=auth(shop["staff"]), json={"reward_id": reward_id})
            return reply.status_code, reply.json()

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


def codes_of(outcomes):
    return [body["coupon"]["code"] for status, body in outcomes if status == 201]


def test_a_hundred_concurrent_redemptions_of_a_stock_of_ten(api, shop, stack):
    phone = "0865550001"
    give_points(api, shop, phone, "25000")  # 1000 points
    reward = create_reward(api, shop, stock=10)
    outcomes = redeem_many(stack, shop, phone, reward["reward_id"], 100)
    assert len(codes_of(outcomes)) == 10
    assert {body["error"]["code"] for status, body in outcomes if status != 201} == {"out_of_stock"}
    assert balance(api, shop, phone) == 1000 - 10 * 30
    listed = api.get(f"/shops/{shop['shop_id']}/members/by-phone/{phone}/coupons", headers=auth(shop["staff"], False))
    assert len(listed.json()["coupons"]) == 10


def test_a_member_with_points_for_three_redeeming_ten_times_at_once_gets_three(api, shop, stack):
    phone = "0865550002"
    give_points(api, shop, phone, "2500")  # 100 points: three rewards of 30
    reward = create_reward(api, shop)
    outcomes = redeem_many(stack, shop, phone, reward["reward_id"], 10, workers=10)
    assert len(codes_of(outcomes)) == 3
    assert [body["error"]["code"] for status, body in outcomes if status != 201] == ["insufficient_points"] * 7
    assert balance(api, shop, phone) == 10


def test_a_coupon_is_used_once_at_the_counter_by_its_code_or_qr(api, shop, stack):
    phone = "0865550003"
    give_points(api, shop, phone, "2500")
    reward = create_reward(api, shop)
    redeemed = api.post(f"/shops/{shop['shop_id']}/members/by-phone/{phone}/redemptions", headers=auth(shop["staff"]),
                        json={"reward_id": reward["reward_id"]})
    assert redeemed.status_code == 201, redeemed.text
    code = redeemed.json()["coupon"]["display_code"]
    image = api.get(f"/shops/{shop['shop_id']}/coupons/{code}/image?format=svg", headers=auth(shop["staff"], False))
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg")
    url = f"{stack.gateway_url}/shops/{shop['shop_id']}/coupons/{code.lower()}/use"

    def use(_):
        with httpx.Client(timeout=30) as client:
            reply = client.post(url, headers=auth(shop["staff"], False), json={})
            return reply.status_code, reply.json()

    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        outcomes = list(pool.map(use, range(50)))
    assert [s for s, _ in outcomes].count(200) == 1
    assert {body["error"]["code"] for s, body in outcomes if s != 200} == {"coupon_already_used"}
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    reply = api.post(f"/shops/{shop['shop_id']}/coupons/{typo}/use", headers=auth(shop["staff"], False), json={})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "code_mistyped"
    report = api.get(f"/shops/{shop['shop_id']}/reports/rewards?format=csv", headers=auth(shop["admin"], False))
    assert report.status_code == 200 and report.text.startswith("reward_id,reward_name,branch_id")
    assert f"{reward['reward_id']},Free latte,{shop['branch_id']},1,1,0,30" in report.text


def test_bad_reward_and_redemption_input_names_the_field(api, shop):
    reply = api.post(f"/shops/{shop['shop_id']}/rewards", headers=auth(shop["admin"], False),
                     json={"kind": "gift", "name": "", "points_cost": 0})
    assert reply.status_code == 422
    assert set(reply.json()["error"]["fields"]) >= {"kind", "name", "points_cost"}
    reward = create_reward(api, shop, kind="delivery", name="Tote bag")
    reply = api.post(f"/shops/{shop['shop_id']}/members/by-phone/0865550004/redemptions",
                     headers=auth(shop["staff"]), json={"reward_id": reward["reward_id"]})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "address_required"
    reply = api.post(f"/shops/{shop['shop_id']}/members/by-phone/0865550004/redemptions",
                     headers=auth(shop["staff"]), json={"reward_id": str(uuid.uuid4())})
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "reward_not_found"


def test_redemptions_survive_a_kill_9_of_either_service(api, shop, stack):
    """Redemptions in flight when rewards, then points, die by SIGKILL: after the restart
    and the recovery sweep every redemption is completed with its points spent, or failed
    with none spent; never a coupon without points or points without a coupon."""
    phone = "0865550005"
    give_points(api, shop, phone, "250000")  # 10,000 points
    reward = create_reward(api, shop, stock=1000, points_cost=10)
    for victim in ("rewards", "points"):
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            running = [pool.submit(redeem_many, stack, shop, phone, reward["reward_id"], 10, 5) for _ in range(4)]
            eventually(lambda: _count(stack, "SELECT count(*) FROM redemptions WHERE reward_id = %s",
                                      reward["reward_id"]) >= 8, timeout=60, interval=0.01)
            os.kill(stack.processes[victim].pid, signal.SIGKILL)
            for future in running:
                future.result()
        stack.processes.pop(victim)
        stack.restart_service(victim)
        stack.wait_healthy(timeout=60)
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)).isoformat()
    config = {"AMQP_URI": stack.amqp_uri}
    with ClusterRpcProxy(config, timeout=60) as cluster:
        eventually(lambda: cluster.rewards.run_recovery({"as_of": later})["pending"] == 0, timeout=60)
        assert cluster.rewards.run_recovery({"as_of": later}) == {"completed": 0, "failed": 0, "pending": 0,
                                                                   "refunded": 0}
    states = dict(_rows(stack, REWARDS, "SELECT state, count(*) FROM redemptions WHERE reward_id = %s GROUP BY state",
                        reward["reward_id"]))
    assert set(states) <= {"completed", "failed"}, states
    completed = states.get("completed", 0)
    assert _count(stack, "SELECT count(*) FROM coupons WHERE reward_id = %s", reward["reward_id"]) == completed
    spent = _rows(stack, POINTS, "SELECT coalesce(-sum(points), 0) FROM entries WHERE phone = '+66865550005' "
                                 "AND source = 'rewards'")[0][0]
    assert spent == completed * 10, (states, spent)
    assert balance(api, shop, phone) == 10_000 - completed * 10
    stock_left = api.get(f"/shops/{shop['shop_id']}/rewards/{reward['reward_id']}",
                         headers=auth(shop["admin"], False)).json()["stock_left"]
    assert stock_left == 1000 - completed


def _rows(stack, component, sql, *params):
    with psycopg.connect(stack.dsn(component)) as conn:
        return conn.execute(sql, params).fetchall()


def _count(stack, sql, *params):
    return _rows(stack, REWARDS, sql, *params)[0][0]
