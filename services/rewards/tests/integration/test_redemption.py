import datetime
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import errors
from chassis.testing import wait_for

from .conftest import ADDRESS, PHONE, SHOP, FakeMembers, events, redeem_request, reward_request


def redeem_quietly(config, request):
    with ServiceRpcProxy("rewards", config, timeout=30) as proxy:
        try:
            return proxy.redeem(request)["state"]
        except errors.ServiceError as exc:
            return exc.code


def test_a_redemption_spends_points_issues_a_coupon_and_a_replay_changes_nothing(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(stock=5))
    request = redeem_request(reward["reward_id"])
    first = rewards.redeem(request)
    again = rewards.redeem(request)
    assert first["state"] == "completed" and first["coupon"]["status"] == "issued"
    assert (again["replayed"], again["coupon"]["code"]) == (True, first["coupon"]["code"])
    assert fakes.balances[PHONE] == 900 and len(fakes.spends) == 1
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 4
    assert [e["data"]["code"] for e in events(db, "rewards.redeemed")] == [first["coupon"]["code"]]
    assert len(events(db, "rewards.coupon_issued")) == 1
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem({**request, "branch_id": None})
    assert caught.value.code == "idempotency_key_reused"


def test_not_enough_points_undoes_the_reservation_and_replays_say_so_again(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(points_cost=5000, stock=1))
    request = redeem_request(reward["reward_id"])
    for _ in range(2):
        with pytest.raises(errors.Conflict) as caught:
            rewards.redeem(request)
        assert caught.value.code == "insufficient_points"
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 1
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 0
    assert [e["data"]["failure_code"] for e in events(db, "rewards.redemption_failed")] == ["insufficient_points"]


def test_a_hundred_concurrent_redemptions_of_a_stock_of_ten_give_exactly_ten(rewards, fakes, config, db):
    fakes.balances[PHONE] = 100_000
    reward = rewards.create_reward(reward_request(stock=10, points_cost=30))
    outcomes = list(eventlet.GreenPool(100).imap(
        lambda _: redeem_quietly(config, redeem_request(reward["reward_id"])), range(100)))
    assert outcomes.count("completed") == 10 and outcomes.count("out_of_stock") == 90
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 10
    assert db.execute("SELECT count(*) AS n FROM redemptions").fetchone()["n"] == 10  # a refusal leaves nothing
    assert fakes.balances[PHONE] == 100_000 - 10 * 30
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 0


def test_a_member_with_points_for_three_redeeming_ten_times_at_once_gets_three(rewards, fakes, config, db):
    fakes.balances[PHONE] = 350
    reward = rewards.create_reward(reward_request(points_cost=100))
    outcomes = list(eventlet.GreenPool(10).imap(
        lambda _: redeem_quietly(config, redeem_request(reward["reward_id"])), range(10)))
    assert outcomes.count("completed") == 3 and outcomes.count("insufficient_points") == 7
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 3
    assert fakes.balances[PHONE] == 50


def test_the_per_member_limit_holds_under_concurrency(rewards, fakes, config):
    reward = rewards.create_reward(reward_request(points_cost=10, per_member_limit=2))
    outcomes = list(eventlet.GreenPool(10).imap(
        lambda _: redeem_quietly(config, redeem_request(reward["reward_id"])), range(10)))
    assert outcomes.count("completed") == 2 and outcomes.count("limit_reached") == 8


def test_points_that_never_answer_cancel_the_spend_and_release_the_stock(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(stock=1))
    fakes.mode["spend"] = "silent"
    request = redeem_request(reward["reward_id"])
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(request)
    assert caught.value.code == "points_unavailable"  # settled: a 409 that says try again with a new key
    with pytest.raises(errors.Conflict):
        rewards.redeem(request)  # the replay answers the same
    fakes.mode["spend"] = "ok"
    key = db.execute("SELECT spend->>'idempotency_key' AS k FROM redemptions").fetchone()["k"]
    assert key in fakes.cancelled  # a late spend with this key will be refused by points
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 1
    assert fakes.balances[PHONE] == 1000


def test_a_spend_whose_answer_was_lost_is_given_back(rewards, fakes, db):
    reward = rewards.create_reward(reward_request())
    fakes.mode["spend"] = "lost_answer"
    with pytest.raises(errors.Conflict):
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert fakes.balances[PHONE] == 1000 and all(s["refunded"] for s in fakes.spends.values())
    assert db.execute("SELECT state FROM redemptions").fetchone()["state"] == "failed"
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 0


def test_when_points_is_down_for_both_steps_the_sweep_settles_later(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(stock=2))
    fakes.mode.update(spend="lost_answer", refund="silent")
    with pytest.raises(errors.Unavailable) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "redemption_pending"
    assert db.execute("SELECT state FROM redemptions").fetchone()["state"] == "compensating"
    fakes.mode.update(spend="ok", refund="ok")
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)).isoformat()
    assert rewards.run_recovery({"as_of": later}) == {"completed": 0, "failed": 1, "pending": 0, "refunded": 0}
    assert rewards.run_recovery({"as_of": later}) == {"completed": 0, "failed": 0, "pending": 0, "refunded": 0}
    assert fakes.balances[PHONE] == 1000
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 2


@pytest.mark.parametrize("spent_before_crash", [False, True])
def test_a_redemption_interrupted_by_a_crash_is_finished_by_the_sweep(rewards, fakes, db, spent_before_crash):
    """The state a kill -9 leaves: reserved (and perhaps spent in points, never completed)."""
    reward = rewards.create_reward(reward_request(stock=3))
    rewards.redeem(redeem_request(reward["reward_id"]))  # a normal one alongside
    crashed_id = uuid.uuid4()
    spend = {"idempotency_key": f"redemption:{crashed_id}", "shop_id": SHOP, "phone": PHONE, "points": 100,
             "reason": "reward: Free coffee", "actor": {"type": "staff", "id": "staff-1"}}
    db.execute("UPDATE rewards SET stock_left = stock_left - 1")
    db.execute("INSERT INTO redemptions (redemption_id, shop_id, idempotency_key, fingerprint, reward_id, phone, "
               "points, spend, actor, stock_reserved, created_at) VALUES (%s, %s, 'k-crash', 'f', %s, %s, 100, %s, "
               "%s, true, now() - interval '10 minutes')",
               (crashed_id, SHOP, reward["reward_id"], PHONE, __import__("json").dumps(spend),
                '{"type": "staff", "id": "staff-1"}'))
    if spent_before_crash:
        fakes.spends[spend["idempotency_key"]] = {"spend_key": spend["idempotency_key"], "phone": PHONE,
                                                  "points": 100, "balance": 800, "refunded": False}
        fakes.balances[PHONE] -= 100
    now = datetime.datetime.now(datetime.UTC).isoformat()
    assert rewards.run_recovery({"as_of": now})["completed"] == 1
    assert rewards.run_recovery({"as_of": now})["completed"] == 0
    assert fakes.balances[PHONE] == 800  # two coupons, two spends, never three
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 2
    assert db.execute("SELECT state FROM redemptions WHERE redemption_id = %s", (crashed_id,)).fetchone()["state"] \
        == "completed"


def test_a_delivery_reward_moves_through_its_statuses_and_a_cancellation_refunds(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(kind="delivery", name="Tote bag", stock=2))
    with pytest.raises(errors.InvalidInput) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "address_required"
    done = rewards.redeem(redeem_request(reward["reward_id"], address=ADDRESS))
    assert done["coupon"]["delivery"] == "requested" and done["address"]["postcode"] == "10110"
    move = {"shop_id": SHOP, "redemption_id": done["redemption_id"], "actor": {"type": "staff", "id": "s"}}
    rewards.move_delivery({**move, "status": "preparing"})
    with pytest.raises(errors.InvalidInput) as caught:
        rewards.move_delivery({**move, "status": "shipped"})
    assert "tracking_no" in caught.value.fields
    shipped = rewards.move_delivery({**move, "status": "shipped", "carrier": "Kerry", "tracking_no": "KX1"})
    assert (shipped["delivery"], shipped["tracking_no"]) == ("shipped", "KX1")
    with pytest.raises(errors.Conflict) as caught:
        rewards.move_delivery({**move, "status": "cancelled", "reason": "changed mind"})
    assert caught.value.code == "delivery_status_refused"
    rewards.move_delivery({**move, "status": "delivered"})
    statuses = [e["data"]["status"] for e in events(db, "rewards.delivery_status_changed")]
    assert statuses == ["preparing", "shipped", "delivered"]

    second = rewards.redeem(redeem_request(reward["reward_id"], address=ADDRESS))
    assert fakes.balances[PHONE] == 800
    cancelled = rewards.move_delivery({"shop_id": SHOP, "redemption_id": second["redemption_id"],
                                       "actor": {"type": "admin", "id": "a"}, "status": "cancelled",
                                       "reason": "out of bags"})
    assert (cancelled["status"], cancelled["points_refunded"]) == ("cancelled", True)
    assert fakes.balances[PHONE] == 900
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 1
    assert rewards.get_redemption({"shop_id": SHOP, "redemption_id": second["redemption_id"]})["refund"] == "done"


def test_a_cancelled_delivery_whose_refund_failed_is_refunded_by_the_sweep(rewards, fakes, db):
    reward = rewards.create_reward(reward_request(kind="delivery", name="Mug"))
    done = rewards.redeem(redeem_request(reward["reward_id"], address=ADDRESS))
    fakes.mode["refund"] = "silent"
    moved = rewards.move_delivery({"shop_id": SHOP, "redemption_id": done["redemption_id"], "status": "cancelled",
                                   "reason": "lost", "actor": {"type": "admin", "id": "a"}})
    assert moved["points_refunded"] is False and fakes.balances[PHONE] == 900
    fakes.mode["refund"] = "ok"
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)).isoformat()
    assert rewards.run_recovery({"as_of": later})["refunded"] == 1
    assert rewards.run_recovery({"as_of": later})["refunded"] == 0
    assert fakes.balances[PHONE] == 1000


def test_tier_and_visibility_rules_refuse_with_their_reason(rewards, fakes):
    gold = rewards.create_reward(reward_request(tiers=["Gold"]))
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(gold["reward_id"]))
    assert caught.value.code == "tier_not_allowed"
    FakeMembers.tiers = {PHONE: "Gold"}
    assert rewards.redeem(redeem_request(gold["reward_id"]))["state"] == "completed"
    hidden = rewards.create_reward(reward_request(visible=False))
    member = {"type": "member", "id": PHONE}
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(hidden["reward_id"], actor=member, branch_id=None))
    assert caught.value.code == "hidden"
    assert rewards.redeem(redeem_request(hidden["reward_id"]))["state"] == "completed"  # staff may


def test_a_refused_spend_cancels_its_key_so_a_late_duplicate_cannot_spend(rewards, fakes, db):
    """A slow spend with the same key must not succeed after the redemption failed."""
    reward = rewards.create_reward(reward_request(points_cost=2000))
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "insufficient_points"
    key = db.execute("SELECT spend->>'idempotency_key' AS k FROM redemptions").fetchone()["k"]
    assert key in fakes.cancelled


def test_unlimited_stock_made_limited_later_is_not_released_by_old_redemptions(rewards, fakes):
    reward = rewards.create_reward(reward_request(kind="delivery", name="Cap"))
    done = rewards.redeem(redeem_request(reward["reward_id"], address=ADDRESS))
    rewards.update_reward({"shop_id": SHOP, "reward_id": reward["reward_id"], "stock": 5})
    rewards.move_delivery({"shop_id": SHOP, "redemption_id": done["redemption_id"], "status": "cancelled",
                           "reason": "sold out", "actor": {"type": "admin", "id": "a"}})
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 5


def test_concurrent_calls_with_one_key_all_answer_the_one_redemption(rewards, fakes, config, db):
    reward = rewards.create_reward(reward_request(stock=1, per_member_limit=1))
    request = redeem_request(reward["reward_id"])

    def redeem(_):
        with ServiceRpcProxy("rewards", config, timeout=30) as proxy:
            return proxy.redeem(request)["coupon"]["code"]

    codes = set(eventlet.GreenPool(10).imap(redeem, range(10)))
    assert len(codes) == 1 and fakes.balances[PHONE] == 900
    assert db.execute("SELECT count(*) AS n FROM redemptions").fetchone()["n"] == 1


def test_delivery_coupons_wait_for_their_parcel_and_never_expire(rewards, fakes):
    reward = rewards.create_reward(reward_request(kind="delivery", name="Tumbler", coupon_days=1))
    rewards.redeem(redeem_request(reward["reward_id"], address=ADDRESS))
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).isoformat()
    assert rewards.run_coupon_expiry({"as_of": later}) == {"expired": 0}


@pytest.mark.parametrize("refusal", ["archived", "out_of_stock", "limit_reached", "tier_not_allowed"])
def test_a_replay_answers_the_first_result_even_when_the_reward_now_refuses(rewards, fakes, refusal):
    """Whatever refuses a new redemption now, a replay of one that succeeded still answers it,
    and a reused key is still a 409."""
    reward = rewards.create_reward(reward_request(stock=1 if refusal == "out_of_stock" else None))
    request = redeem_request(reward["reward_id"])
    first = rewards.redeem(request)
    ref = {"shop_id": SHOP, "reward_id": reward["reward_id"]}
    if refusal == "archived":
        rewards.archive_reward(ref)
    elif refusal == "limit_reached":
        rewards.update_reward({**ref, "per_member_limit": 1})
    elif refusal == "tier_not_allowed":
        rewards.update_reward({**ref, "tiers": ["Gold"]})
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == refusal
    again = rewards.redeem(request)
    assert (again["replayed"], again["redemption_id"], again["coupon"]["code"]) == (
        True, first["redemption_id"], first["coupon"]["code"])
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem({**request, "branch_id": None})
    assert caught.value.code == "idempotency_key_reused"
    assert fakes.balances[PHONE] == 900 and len(fakes.spends) == 1


def test_a_coupon_that_cannot_be_written_undoes_the_whole_completion(rewards, fakes, db):
    """The completion's guarded update runs before the coupon is written: a failure after it
    (here the pool's last code taken behind the reward's back) rolls it back, and the
    redemption is undone: points given back, stock released, no coupon, no rewards.redeemed."""
    reward = rewards.create_reward(reward_request(kind="code", code_source="pool", name="Voucher"))
    rewards.upload_codes({"shop_id": SHOP, "reward_id": reward["reward_id"], "codes": ["ONLY-ONE"]})
    db.execute("UPDATE code_pool SET coupon_id = gen_random_uuid()")
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "coupon_failed"
    assert db.execute("SELECT state, coupon_id FROM redemptions").fetchone() == {"state": "failed", "coupon_id": None}
    assert db.execute("SELECT count(*) AS n FROM coupons").fetchone()["n"] == 0
    assert fakes.balances[PHONE] == 1000 and all(s["refunded"] for s in fakes.spends.values())
    assert rewards.get_reward({"shop_id": SHOP, "reward_id": reward["reward_id"]})["stock_left"] == 1
    assert events(db, "rewards.redeemed") == [] and events(db, "rewards.coupon_issued") == []


def test_a_statement_that_fails_inside_the_completion_rolls_it_back(rewards, fakes, db):
    """A failure in the database itself (here a duplicate code, after the shop's code counter
    was set back) aborts the completion's transaction: nothing of it stays, the points go back."""
    reward = rewards.create_reward(reward_request())
    first = rewards.redeem(redeem_request(reward["reward_id"]))
    db.execute("UPDATE shops SET next_code = next_code - 1")
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "coupon_failed"
    assert [row["state"] for row in db.execute("SELECT state FROM redemptions ORDER BY created_at")] == [
        "completed", "failed"]
    assert [row["code"] for row in db.execute("SELECT code FROM coupons")] == [first["coupon"]["code"]]
    assert fakes.balances[PHONE] == 900
    assert len(events(db, "rewards.redeemed")) == 1 and len(events(db, "rewards.redemption_failed")) == 1
    assert rewards.redeem(redeem_request(reward["reward_id"]))["state"] == "completed"  # the connection is fine


def test_a_redemption_waiting_for_a_locked_reward_holds_no_lock_on_the_shop(rewards, fakes, config, dsn, db):
    """A campaign (issue_coupons) locks its reward, then takes code numbers on another connection:
    a redemption of that reward must wait for the reward before it locks the shop's code counter,
    or the two would wait for each other forever (no deadlock PostgreSQL could see)."""
    import psycopg

    reward = rewards.create_reward(reward_request())
    with psycopg.connect(dsn) as campaign:
        campaign.execute("SELECT 1 FROM rewards WHERE reward_id = %s FOR UPDATE", (reward["reward_id"],))
        redeeming = eventlet.spawn(redeem_quietly, config, redeem_request(reward["reward_id"]))
        assert wait_for(lambda: db.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s", ("%INSERT INTO redemptions%",)).fetchone()["n"] == 1)
        with db.transaction():
            assert db.execute("SELECT next_code FROM shops WHERE shop_id = %s FOR NO KEY UPDATE NOWAIT",
                              (SHOP,)).fetchone() is not None
    assert redeeming.wait() == "completed"
