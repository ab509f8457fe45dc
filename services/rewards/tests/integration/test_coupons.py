import datetime
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import errors
from rewards import codes

from .conftest import (
    BRANCH,
    OTHER_BRANCH,
    OTHER_SHOP,
    PHONE,
    SHOP,
    events,
    redeem_request,
    reward_request,
    staff_use,
)


def issued_coupon(rewards, **terms):
    reward = rewards.create_reward(reward_request(**terms))
    return reward, rewards.redeem(redeem_request(reward["reward_id"]))["coupon"]


def issue_request(reward_id, phones, **over):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": SHOP, "reward_id": reward_id, "phones": phones,
            "source": "campaign", "source_ref": "campaign-1", "actor": {"type": "internal_system", "id": "campaigns"},
            **over}


def test_a_coupon_is_used_once_even_when_fifty_staff_try_at_once(rewards, config, db):
    _, coupon = issued_coupon(rewards)

    def use(_):
        with ServiceRpcProxy("rewards", config, timeout=30) as proxy:
            try:
                return proxy.use_coupon(staff_use(coupon["display_code"].lower()))["status"]
            except errors.ServiceError as exc:
                return exc.code

    outcomes = list(eventlet.GreenPool(50).imap(use, range(50)))
    assert outcomes.count("used") == 1 and outcomes.count("coupon_already_used") == 49
    assert len(events(db, "rewards.coupon_used")) == 1


def test_each_refusal_of_a_use_has_its_own_code(rewards, db):
    _, coupon = issued_coupon(rewards, branch_ids=[BRANCH])
    code = coupon["code"]
    cases = [
        (staff_use(code, branch=OTHER_BRANCH), errors.Forbidden, "coupon_not_usable_here"),
        (staff_use(code, shop=OTHER_SHOP), errors.Forbidden, "coupon_other_shop"),
        (staff_use(code[:-1] + ("A" if code[-1] != "A" else "B")), errors.InvalidInput, "code_mistyped"),
        (staff_use("ABCD-0000Z"), errors.InvalidInput, "invalid_code"),
        (staff_use(codes.generate(b"x" * 32, 5, 1)[0]), errors.NotFound, "coupon_not_found"),
    ]
    for request, kind, code_name in cases:
        with pytest.raises(kind) as caught:
            rewards.use_coupon(request)
        assert caught.value.code == code_name, request
        assert caught.value.fields
    db.execute("UPDATE coupons SET expires_at = now() - interval '1 second'")
    with pytest.raises(errors.Conflict) as caught:
        rewards.use_coupon(staff_use(code))
    assert caught.value.code == "coupon_expired"


def test_a_use_made_by_mistake_can_be_undone_within_the_window_with_a_reason(rewards, db):
    _, coupon = issued_coupon(rewards)
    rewards.use_coupon(staff_use(coupon["code"]))
    undo = {"shop_id": SHOP, "code": coupon["code"], "branch_id": BRANCH, "reason": "scanned the wrong coupon",
            "actor": {"type": "staff", "id": "staff-1"}}
    with pytest.raises(errors.Forbidden):
        rewards.undo_coupon_use({**undo, "branch_id": OTHER_BRANCH})
    assert rewards.undo_coupon_use(undo)["status"] == "issued"
    with pytest.raises(errors.Conflict) as caught:
        rewards.undo_coupon_use(undo)
    assert caught.value.code == "coupon_not_used"
    rewards.use_coupon(staff_use(coupon["code"]))
    db.execute("UPDATE coupons SET used_at = now() - interval '16 minutes'")
    with pytest.raises(errors.Conflict) as caught:
        rewards.undo_coupon_use(undo)
    assert caught.value.code == "undo_too_late"
    history = rewards.get_coupon({"shop_id": SHOP, "code": coupon["code"]})["history"]
    assert [h["action"] for h in history] == ["used", "use_undone", "used"]
    assert history[1]["reason"] == "scanned the wrong coupon"


def test_the_expiry_job_runs_as_of_any_time_and_expires_once(rewards, db):
    _, coupon = issued_coupon(rewards, coupon_days=30)
    expires = datetime.datetime.fromisoformat(coupon["expires_at"])
    before = (expires - datetime.timedelta(days=2)).isoformat()
    after = (expires + datetime.timedelta(seconds=1)).isoformat()
    assert rewards.run_coupon_warnings({"as_of": before}) == {"warned": 1}
    assert rewards.run_coupon_warnings({"as_of": before}) == {"warned": 0}
    assert rewards.run_coupon_expiry({"as_of": before}) == {"expired": 0}
    assert rewards.run_coupon_expiry({"as_of": after}) == {"expired": 1}
    assert rewards.run_coupon_expiry({"as_of": after}) == {"expired": 0}
    assert rewards.get_coupon({"shop_id": SHOP, "code": coupon["code"]})["status"] == "expired"
    assert len(events(db, "rewards.coupon_expired")) == 1 and len(events(db, "rewards.coupon_expiring_soon")) == 1
    with pytest.raises(errors.Conflict) as caught:
        rewards.use_coupon(staff_use(coupon["code"]))
    assert caught.value.code == "coupon_expired"


def test_editing_a_reward_never_changes_coupons_already_issued(rewards):
    reward, coupon = issued_coupon(rewards, coupon_days=30)
    edited = rewards.update_reward({"shop_id": SHOP, "reward_id": reward["reward_id"], "name": "Free tea",
                                    "coupon_days": 1, "branch_ids": [OTHER_BRANCH], "points_cost": 500})
    assert (edited["name"], edited["version"]) == ("Free tea", 2)
    kept = rewards.get_coupon({"shop_id": SHOP, "code": coupon["code"]})
    assert (kept["name"], kept["expires_at"], kept["branch_ids"], kept["points_cost"]) == (
        "Free coffee", coupon["expires_at"], [], 100)
    assert rewards.use_coupon(staff_use(coupon["code"]))["status"] == "used"  # the old terms: any branch


def test_campaign_coupons_are_issued_in_one_idempotent_batch(rewards, db):
    reward = rewards.create_reward(reward_request(stock=3, coupon_days=7))
    phones = ["+66812345678", "+66812345679", "+66812345670"]
    request = issue_request(reward["reward_id"], phones)
    first = rewards.issue_coupons(request)
    again = rewards.issue_coupons(request)
    assert first["issued"] == 3 and again["replayed"] is True and again["coupons"] == first["coupons"]
    assert len({c["code"] for c in first["coupons"]}) == 3
    assert db.execute("SELECT count(*) AS n FROM coupons WHERE source = 'campaign'").fetchone()["n"] == 3
    (batch,) = events(db, "rewards.coupons_issued")
    assert [c["phone"] for c in batch["data"]["coupons"]] == phones and batch["data"]["source_ref"] == "campaign-1"
    assert events(db, "rewards.coupon_issued") == []  # that one is for coupons bought with points
    with pytest.raises(errors.Conflict) as caught:
        rewards.issue_coupons(issue_request(reward["reward_id"], ["+66812345671"]))
    assert caught.value.code == "out_of_stock"
    for bad in ("0812345678", "+66812345678\n"):
        with pytest.raises(errors.InvalidInput) as caught:
            rewards.issue_coupons(issue_request(reward["reward_id"], [bad]))
        assert "phones.0" in caught.value.fields
    parcel = rewards.create_reward(reward_request(kind="delivery"))
    with pytest.raises(errors.InvalidInput) as caught:
        rewards.issue_coupons(issue_request(parcel["reward_id"], phones[:1]))
    assert caught.value.code == "not_for_kind"


def test_a_pool_reward_hands_out_the_shop_codes_once_each(rewards):
    reward = rewards.create_reward(reward_request(kind="code", code_source="pool", name="Grab voucher"))
    added = rewards.upload_codes({"shop_id": SHOP, "reward_id": reward["reward_id"],
                                  "codes": ["GRAB-1", "GRAB-2", "GRAB-1"]})
    assert added == {"added": 2, "duplicates": 1, "stock_left": 2}
    got = {rewards.redeem(redeem_request(reward["reward_id"]))["coupon"]["external_code"] for _ in range(2)}
    assert got == {"GRAB-1", "GRAB-2"}
    with pytest.raises(errors.Conflict) as caught:
        rewards.redeem(redeem_request(reward["reward_id"]))
    assert caught.value.code == "out_of_stock"
    with pytest.raises(errors.InvalidInput) as caught:
        rewards.create_reward(reward_request(code_source="pool"))
    assert "code_source" in caught.value.fields


def test_bad_reward_input_names_the_field(rewards):
    cases = [({"points_cost": 0}, "points_cost"), ({"kind": "gift"}, "kind"), ({"stock": -1}, "stock"),
             ({"valid_from": "2027-01-02T00:00:00+07:00", "valid_to": "2027-01-01T00:00:00+07:00"}, "valid_to"),
             ({"branch_ids": [str(uuid.uuid4())]}, "branch_id"), ({"shop_id": str(uuid.uuid4())}, "shop_id")]
    for over, field in cases:
        with pytest.raises((errors.InvalidInput, errors.NotFound)) as caught:
            rewards.create_reward(reward_request(**over))
        assert field in caught.value.fields, (over, caught.value.fields)


def test_the_member_page_says_what_can_be_redeemed_and_why_not(rewards, fakes):
    fakes.balances[PHONE] = 150
    cheap = rewards.create_reward(reward_request(name="Cookie", points_cost=100))
    rewards.create_reward(reward_request(name="Cake", points_cost=200))
    rewards.create_reward(reward_request(name="Gold mug", tiers=["Gold"]))
    rewards.create_reward(reward_request(name="Secret", visible=False))
    gone = rewards.create_reward(reward_request(name="Old"))
    rewards.archive_reward({"shop_id": SHOP, "reward_id": gone["reward_id"]})
    page = rewards.available({"shop_id": SHOP, "phone": "081-234-5678"})
    reasons = {r["name"]: r["reasons"] for r in page["rewards"]}
    assert reasons == {"Cookie": [], "Cake": ["insufficient_points"], "Gold mug": ["tier_not_allowed"]}
    assert page["balance"] == 150
    assert any(r["redeemable"] for r in page["rewards"] if r["reward_id"] == cheap["reward_id"])


def test_the_report_counts_per_reward_and_branch_and_exports_csv(rewards):
    reward, coupon = issued_coupon(rewards, name="Latte")
    rewards.redeem(redeem_request(reward["reward_id"], branch_id=OTHER_BRANCH))
    rewards.use_coupon(staff_use(coupon["code"]))
    rows = rewards.report({"shop_id": SHOP})["rows"]
    by_branch = {row["branch_id"]: row for row in rows}
    assert (by_branch[BRANCH]["redeemed"], by_branch[BRANCH]["used"], by_branch[BRANCH]["points_spent"]) == (1, 1, 100)
    assert (by_branch[OTHER_BRANCH]["redeemed"], by_branch[OTHER_BRANCH]["used"]) == (1, 0)
    exported = rewards.report_csv({"shop_id": SHOP})
    lines = exported["body"].splitlines()
    assert lines[0] == "reward_id,reward_name,branch_id,redeemed,used,expired,points_spent" and len(lines) == 3
    coupons_of_member = rewards.member_coupons({"shop_id": SHOP, "phone": PHONE})["coupons"]
    assert len(coupons_of_member) == 2
    empty = rewards.report({"shop_id": SHOP, "date_from": "2020-01-01", "date_to": "2020-01-31"})
    assert empty["rows"] == []
    for bad, field in (({"date_to": "9999-12-31"}, "date_to"), ({"date_from": "2026-02-01", "date_to": "2026-01-01"},
                                                                "date_to")):
        with pytest.raises(errors.InvalidInput) as caught:
            rewards.report({"shop_id": SHOP, **bad})
        assert field in caught.value.fields
