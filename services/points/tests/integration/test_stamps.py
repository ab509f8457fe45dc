"""Stamp cards against PostgreSQL and RabbitMQ: the lifecycle rules, one-time and printed QR
codes (races, daily limit), tickets and carry-over, voids, expiry as of a time, statistics."""
import datetime
import uuid

import eventlet
import psycopg
import pytest
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy

from chassis import errors
from chassis.testing import wait_for

from .conftest import BRANCH, OTHER_BRANCH, SHOP

TOPPING, COFFEE = str(uuid.uuid4()), str(uuid.uuid4())
ADMIN = {"type": "admin", "id": "admin-1"}
STAFF = {"type": "staff", "id": "staff-1"}
PHONE = "+66812345678"


class FakeRewards:
    """The rewards catalogue as the points service sees it when a card is designed."""

    name = "rewards"
    rewards = {}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_reward(self, request):
        reward = self.rewards.get(request["reward_id"])
        if reward is None or request["shop_id"] != str(SHOP):
            raise errors.NotFound("reward_not_found", "no such reward", {"reward_id": ["unknown"]})
        return reward


@pytest.fixture
def stamps(container_factory, config, points):
    FakeRewards.rewards = {rid: {"reward_id": rid, "status": "active", "kind": "in_store"}
                           for rid in (TOPPING, COFFEE)}
    container_factory(FakeRewards, config).start()
    return points


def design(**over):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "actor": ADMIN, "name": "Coffee card",
            "stamps_to_fill": 10, "rule": {"mode": "per_visit"},
            "tickets": [{"at": 5, "reward_id": TOPPING}, {"at": 10, "reward_id": COFFEE}], **over}


def ref(card, **extra):
    return {"shop_id": str(SHOP), "card_id": card["card_id"], "actor": ADMIN, **extra}


def active_card(stamps, **over):
    card = stamps.create_stamp_card(design(**over))
    return stamps.activate_stamp_card(ref(card))


def refused(call, kind=errors.Conflict):
    with pytest.raises(kind) as caught:
        call()
    return caught.value.code


def one_time(stamps, amount=None, branch=BRANCH):
    return stamps.create_stamp_qr({"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP),
                                   "branch_id": str(branch), "amount": amount, "actor": STAFF})


def scan(stamps, token, phone=PHONE, key=None):
    return stamps.claim_stamps({"shop_id": str(SHOP), "token": token, "phone": phone, "idempotency_key": key})


def give(stamps, count, phone=PHONE):
    result = None
    for _ in range(count):
        result = scan(stamps, one_time(stamps)["token"], phone)
    return result


def member_card(stamps, phone=PHONE):
    return stamps.member_stamps({"shop_id": str(SHOP), "phone": phone})["cards"][0]


def events(db, event_type):
    return [row["envelope"] for row in db.execute(
        "SELECT envelope FROM outbox WHERE envelope->>'type' = %s ORDER BY id", (event_type,)).fetchall()]


def check_stamp_ledger(db):
    rows = db.execute("SELECT m.stamps, (SELECT coalesce(sum(stamps), 0) FROM stamp_entries e WHERE "
                      "e.card_id = m.card_id AND e.phone = m.phone) AS entries FROM stamp_card_members m").fetchall()
    for row in rows:
        assert row["stamps"] == row["entries"] >= 0, row


# --- lifecycle -------------------------------------------------------------------------

def test_a_draft_is_freely_edited_and_deleted(stamps, db):
    card = stamps.create_stamp_card(design())
    edited = stamps.update_stamp_card(ref(card, name="Tea card", stamps_to_fill=8,
                                          tickets=[{"at": 8, "reward_id": COFFEE}]))
    assert (edited["name"], edited["stamps_to_fill"], edited["changed"]) == ("Tea card", 8, True)
    assert stamps.delete_stamp_card(ref(card))["status"] == "deleted"
    assert refused(lambda: stamps.activate_stamp_card(ref(card))) == "card_deleted"
    assert [e["type"] for e in (events(db, "stampcards.created") + events(db, "stampcards.updated")
                                + events(db, "stampcards.deleted"))] == \
        ["stampcards.created", "stampcards.updated", "stampcards.deleted"]


def test_creating_a_card_is_idempotent_on_its_key(stamps):
    body = design()
    first = stamps.create_stamp_card(body)
    again = stamps.create_stamp_card(body)
    assert again["card_id"] == first["card_id"] and again["replayed"] is True
    assert refused(lambda: stamps.create_stamp_card({**body, "name": "Other"})) == "idempotency_key_reused"


def test_an_active_card_refuses_a_design_change_and_takes_a_new_expiry(stamps, db):
    card = active_card(stamps, validity={"mode": "days", "days": 30})
    assert refused(lambda: stamps.update_stamp_card(ref(card, name="New name"))) == "card_field_locked"
    assert refused(lambda: stamps.update_stamp_card(ref(card, stamps_to_fill=12,
                                                        validity={"mode": "days", "days": 60}))) == "card_field_locked"
    give(stamps, 1)
    first_expiry = member_card(stamps)["expires_at"]
    updated = stamps.update_stamp_card(ref(card, validity={"mode": "days", "days": 60}))
    assert updated["validity"]["days"] == 60 and updated["name"] == "Coffee card"
    later = member_card(stamps)["expires_at"]
    assert datetime.datetime.fromisoformat(later) - datetime.datetime.fromisoformat(first_expiry) \
        == datetime.timedelta(days=30)
    with pytest.raises(psycopg.errors.RestrictViolation):  # the database refuses it too
        db.execute("UPDATE stamp_cards SET name = 'x' WHERE card_id = %s", (card["card_id"],))


def test_a_second_active_card_is_refused(stamps):
    active_card(stamps)
    second = stamps.create_stamp_card(design(name="Second"))
    assert refused(lambda: stamps.activate_stamp_card(ref(second))) == "active_card_exists"


def test_a_ticket_must_name_an_issuable_reward_of_the_catalogue(stamps):
    with pytest.raises(errors.InvalidInput) as caught:
        stamps.create_stamp_card(design(tickets=[{"at": 10, "reward_id": str(uuid.uuid4())}]))
    assert caught.value.code == "ticket_reward_invalid" and "tickets.0.reward_id" in caught.value.fields
    draft = stamps.create_stamp_card(design())
    FakeRewards.rewards[COFFEE]["status"] = "archived"
    assert refused(lambda: stamps.create_stamp_card(design()), errors.InvalidInput) == "ticket_reward_invalid"
    assert refused(lambda: stamps.activate_stamp_card(ref(draft)), errors.InvalidInput) == "ticket_reward_invalid"
    FakeRewards.rewards[COFFEE]["status"] = "active"
    assert stamps.activate_stamp_card(ref(draft))["status"] == "active"
    with pytest.raises(errors.InvalidInput) as caught:
        stamps.create_stamp_card(design(tickets=[{"at": 5, "reward_id": TOPPING}]))
    assert caught.value.code == "invalid_card_design" and "tickets" in caught.value.fields


def test_suspension_needs_confirmation_resets_every_members_stamps_and_is_final(stamps, db):
    card = active_card(stamps)
    give(stamps, 3)
    give(stamps, 2, phone="+66899999999")
    with pytest.raises(errors.InvalidInput) as caught:
        stamps.suspend_stamp_card(ref(card))
    assert caught.value.code == "suspension_not_confirmed"
    suspended = stamps.suspend_stamp_card(ref(card, confirm=True))
    assert suspended["status"] == "suspended" and suspended["reset"]["members"] == 2
    assert member_card(stamps)["stamps"] == 0 and member_card(stamps, "+66899999999")["stamps"] == 0
    assert refused(lambda: stamps.activate_stamp_card(ref(card))) == "card_suspended"
    assert refused(lambda: stamps.update_stamp_card(ref(card, validity={"mode": "none"}))) == "card_suspended"
    assert refused(lambda: one_time(stamps)) == "no_active_card"
    assert len(events(db, "stampcards.suspended")) == 1 and len(events(db, "stamps.reset")) == 2
    check_stamp_ledger(db)


def backdate_suspension(db, card, hours):
    db.execute("SET session_replication_role = replica")  # the lifecycle trigger refuses any change otherwise
    db.execute("UPDATE stamp_cards SET suspended_at = now() - %s * interval '1 hour' WHERE card_id = %s",
               (hours, card["card_id"]))
    db.execute("SET session_replication_role = origin")


def test_a_new_card_an_hour_after_a_suspension_is_refused_and_allowed_after_24_hours(stamps, db):
    card = active_card(stamps)
    stamps.suspend_stamp_card(ref(card, confirm=True))
    backdate_suspension(db, card, 1)
    assert refused(lambda: stamps.create_stamp_card(design())) == "card_waiting_time"
    backdate_suspension(db, card, 23.9)
    assert refused(lambda: stamps.create_stamp_card(design())) == "card_waiting_time"
    backdate_suspension(db, card, 24.01)
    fresh = stamps.create_stamp_card(design(name="Spring card"))
    assert stamps.activate_stamp_card(ref(fresh))["status"] == "active"


def test_a_draft_made_before_a_suspension_waits_too(stamps, db):
    card = active_card(stamps)
    draft = stamps.create_stamp_card(design(name="Next"))
    stamps.suspend_stamp_card(ref(card, confirm=True))
    assert refused(lambda: stamps.activate_stamp_card(ref(draft))) == "card_waiting_time"


# --- one-time and printed QR codes -----------------------------------------------------------

def test_a_one_time_qr_gives_its_stamps_once_and_issues_the_card_with_welcome_stamps(stamps, db):
    active_card(stamps, welcome_stamps=1, rule={"mode": "per_amount", "per_baht": "50"})
    assert refused(lambda: one_time(stamps, amount="49")) == "no_stamps_for_purchase"
    qr = one_time(stamps, amount="120")
    assert qr["stamps"] == 2
    first = scan(stamps, qr["token"])
    assert (first["stamps"], first["welcome_stamps"], first["stamps_after"], first["replayed"]) == (2, 1, 3, False)
    again = scan(stamps, qr["token"])  # the member's app retried
    assert (again["replayed"], again["entry_id"], again["stamps_after"]) == (True, first["entry_id"], 3)
    assert refused(lambda: scan(stamps, qr["token"], phone="+66899999999")) == "qr_already_used"
    assert refused(lambda: scan(stamps, qr["token"][:-3] + "abc"), errors.InvalidInput) == "qr_invalid"
    granted = events(db, "stamps.granted")
    assert len(granted) == 1 and granted[0]["data"]["stamps_after"] == 3
    assert db.execute("SELECT count(*) FROM stamp_entries WHERE opens_card").fetchone()["count"] == 1


def test_an_expired_one_time_qr_gives_nothing(stamps, db):
    active_card(stamps)
    qr = one_time(stamps)
    db.execute("UPDATE stamp_qrs SET expires_at = now() - interval '1 second'")
    assert refused(lambda: scan(stamps, qr["token"])) == "qr_expired"


def test_fifty_members_racing_for_one_qr_make_exactly_one_stamp(stamps, config, db):
    active_card(stamps)
    qr = one_time(stamps)

    def attempt(n):
        with ServiceRpcProxy("points", config, timeout=30) as proxy:
            try:
                return scan(proxy, qr["token"], phone=f"+66810000{n:03d}")["stamps"]
            except errors.Conflict as exc:
                return exc.code

    pool = eventlet.GreenPool(50)
    outcomes = list(pool.imap(attempt, range(50)))
    assert outcomes.count(1) == 1 and outcomes.count("qr_already_used") == 49
    assert db.execute("SELECT count(*) FROM stamp_entries").fetchone()["count"] == 1
    check_stamp_ledger(db)


def printed(stamps, enabled=True, limit=2, branch=BRANCH, **extra):
    return stamps.set_printed_stamp_qr({"shop_id": str(SHOP), "branch_id": str(branch), "enabled": enabled,
                                        "daily_limit": limit, **extra})


def test_a_printed_qr_must_be_enabled_and_gives_stamps_up_to_the_daily_limit(stamps, db):
    active_card(stamps)
    disabled = printed(stamps, enabled=False)
    assert refused(lambda: scan(stamps, disabled["token"], key="k0")) == "printed_qr_disabled"
    assert refused(lambda: scan(stamps, disabled["token"]), errors.InvalidInput) == "invalid_idempotency_key"
    code = printed(stamps, limit=2)
    assert scan(stamps, code["token"], key="k1")["stamps_after"] == 1
    assert scan(stamps, code["token"], key="k1")["replayed"] is True  # a retry is not a second scan
    assert scan(stamps, code["token"], key="k2")["stamps_after"] == 2
    assert refused(lambda: scan(stamps, code["token"], key="k3")) == "daily_limit_reached"
    assert scan(stamps, code["token"], phone="+66899999999", key="k4")["stamps_after"] == 1  # per member
    other = printed(stamps, branch=OTHER_BRANCH, limit=1)
    assert scan(stamps, other["token"], key="k5")["stamps_after"] == 3  # per branch
    db.execute("UPDATE stamp_printed_scans SET day = day - 1")  # the next shop day
    assert scan(stamps, code["token"], key="k6")["stamps_after"] == 4
    regenerated = printed(stamps, limit=2, regenerate=True)
    assert refused(lambda: scan(stamps, code["token"], key="k7"), errors.InvalidInput) == "qr_invalid"
    assert scan(stamps, regenerated["token"], key="k8")["stamps_after"] == 5
    check_stamp_ledger(db)


def test_the_daily_limit_holds_under_concurrent_scans(stamps, config, db):
    active_card(stamps)
    code = printed(stamps, limit=3)

    def attempt(n):
        with ServiceRpcProxy("points", config, timeout=30) as proxy:
            try:
                return scan(proxy, code["token"], key=f"race-{n}")["stamps"]
            except errors.Conflict as exc:
                return exc.code

    outcomes = list(eventlet.GreenPool(20).imap(attempt, range(20)))
    assert outcomes.count(1) == 3 and outcomes.count("daily_limit_reached") == 17
    assert member_card(stamps)["stamps"] == 3


# --- tickets, carry-over, voids, expiry ------------------------------------------------------------

def test_filling_the_card_earns_the_last_ticket_and_a_new_card_starts_with_the_extra_stamps(stamps, db):
    active_card(stamps, rule={"mode": "per_visit", "stamps": 3})
    results = [scan(stamps, one_time(stamps)["token"]) for _ in range(4)]  # 3, 6, 9, 12 stamps
    assert [r["stamps_after"] for r in results] == [3, 6, 9, 2]
    assert [t["at_stamps"] for t in results[1]["tickets"]] == [5]
    assert [(t["card_no"], t["at_stamps"]) for t in results[3]["tickets"]] == [(1, 10)]
    assert (results[3]["card_no"], results[3]["cards_filled"]) == (2, 1)
    completed = events(db, "stamps.card_completed")
    assert [(e["data"]["card_no"], e["data"]["carried_over"]) for e in completed] == [(1, 2)]
    earned = events(db, "stamps.ticket_earned")
    assert [(e["data"]["at_stamps"], e["data"]["reward_id"]) for e in earned] == [(5, TOPPING), (10, COFFEE)]
    assert earned[0]["data"]["phone"] == PHONE and "ticket_id" in earned[0]["data"]
    assert earned[0]["data"]["entry_id"] == results[1]["entry_id"]
    assert events(db, "stamps.granted")[3]["data"]["entry_id"] == results[3]["entry_id"]
    card = member_card(stamps)
    assert (card["stamps"], card["card_no"], card["cards_completed"]) == (2, 2, 1)
    check_stamp_ledger(db)


def test_a_void_takes_stamps_back_once_with_a_reason_never_below_zero(stamps, db):
    active_card(stamps, rule={"mode": "per_visit", "stamps": 2})
    grant = scan(stamps, one_time(stamps)["token"])

    def void(key, entry_id=grant["entry_id"]):
        return stamps.void_stamps({"idempotency_key": key, "shop_id": str(SHOP), "entry_id": entry_id,
                                   "reason": "wrong customer", "actor": STAFF})

    first = void("v1")
    assert (first["recovered"], first["unrecovered"], first["stamps_after"]) == (2, 0, 0)
    assert void("v1")["replayed"] is True
    assert refused(lambda: void("v2")) == "already_voided"
    assert events(db, "stamps.voided")[0]["data"]["reason"] == "wrong customer"
    assert refused(lambda: stamps.void_stamps({"idempotency_key": "v3", "shop_id": str(SHOP), "entry_id": 1,
                                               "actor": STAFF}), errors.InvalidInput) == "invalid_input"
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE stamp_entries SET stamps = 5")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE stamp_card_members SET stamps = 5")
    check_stamp_ledger(db)


def test_the_expiry_job_closes_members_cards_as_of_a_time_and_runs_twice_safely(stamps, db):
    active_card(stamps, validity={"mode": "days", "days": 30})
    give(stamps, 4)
    as_of = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=40)
    early = stamps.run_stamp_expiry({"as_of": (as_of - datetime.timedelta(days=20)).isoformat()})
    assert early["expired"]["cards"] == 0
    first = stamps.run_stamp_expiry({"as_of": as_of.isoformat()})
    assert first["expired"] == {"cards": 1, "stamps": 4}
    assert stamps.run_stamp_expiry({"as_of": as_of.isoformat()})["expired"] == {"cards": 0, "stamps": 0}
    card = member_card(stamps)
    assert (card["stamps"], card["card_no"], card["expires_at"]) == (0, 2, None)
    assert events(db, "stamps.expired")[0]["data"]["stamps"] == 4
    assert give(stamps, 1)["card_no"] == 2
    check_stamp_ledger(db)


# --- statistics, history, tickets used ---------------------------------------------------------------

def test_statistics_per_day_and_branch_live_and_up_to_yesterday_with_tickets_used(stamps, config, db):
    active_card(stamps)
    give(stamps, 5)
    scan(stamps, one_time(stamps, branch=OTHER_BRANCH)["token"], phone="+66899999999")
    ticket = db.execute("SELECT ticket_id FROM stamp_tickets").fetchone()["ticket_id"]
    envelope = {"event_id": str(uuid.uuid4()), "type": "rewards.coupon_used", "version": 1,
                "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": str(SHOP),
                "data": {"coupon_id": str(uuid.uuid4()), "source": "stamp_card", "source_ref": str(ticket),
                         "used_at": datetime.datetime.now(datetime.UTC).isoformat(), "used_branch_id": str(BRANCH)}}
    event_dispatcher(config)("rewards", "coupon_used.v1", envelope)
    assert wait_for(lambda: db.execute("SELECT used_at FROM stamp_tickets").fetchone()["used_at"] is not None)
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7))).date()
    query = {"shop_id": str(SHOP), "since": (today - datetime.timedelta(days=7)).isoformat(),
             "until": today.isoformat()}
    closed = stamps.stamp_stats(query)
    assert closed["rows"] == [] and closed["until"] == (today - datetime.timedelta(days=1)).isoformat()
    live = stamps.stamp_stats({**query, "live": True})
    by_branch = {row["branch_id"]: row for row in live["rows"]}
    assert (by_branch[str(BRANCH)]["cards_issued"], by_branch[str(BRANCH)]["stamps_given"],
            by_branch[str(BRANCH)]["tickets_issued"], by_branch[str(BRANCH)]["tickets_used"]) == (1, 5, 1, 1)
    assert by_branch[str(OTHER_BRANCH)]["stamps_given"] == 1
    assert live["totals"]["stamps_given"] == 6
    one_branch = stamps.stamp_stats({**query, "live": True, "branch_id": str(OTHER_BRANCH)})
    assert [row["branch_id"] for row in one_branch["rows"]] == [str(OTHER_BRANCH)]
    history = stamps.member_stamps({"shop_id": str(SHOP), "phone": "081-234-5678", "limit": 3})
    assert [e["kind"] for e in history["entries"]] == ["grant", "grant", "grant"]
    assert history["next_before"] is not None and len(history["tickets"]) == 1
    assert history["cards"][0]["next_ticket_at"] == 10


def test_an_erased_members_stamps_follow_the_pseudonym_and_only_a_shops_purge_deletes_them(stamps, db):
    active_card(stamps)
    give(stamps, 5)
    scan(stamps, printed(stamps)["token"], key="p1")
    db.execute("UPDATE accounts SET phone = 'erased:m1' WHERE phone = %s", (PHONE,))  # as members.erased does
    assert {row["phone"] for row in db.execute(
        "SELECT phone FROM stamp_entries UNION SELECT phone FROM stamp_tickets UNION SELECT phone FROM "
        "stamp_card_members UNION SELECT claimed_phone FROM stamp_qrs UNION SELECT phone FROM stamp_printed_scans")} \
        == {"erased:m1"}
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("DELETE FROM accounts WHERE shop_id = %s", (SHOP,))
    with db.transaction():
        db.execute("SELECT set_config('points.purging_shop', %s, true)", (str(SHOP),))
        db.execute("DELETE FROM accounts WHERE shop_id = %s", (SHOP,))
    assert db.execute("SELECT count(*) FROM stamp_entries").fetchone()["count"] == 0


def test_a_tickets_coupon_and_its_use_and_undo_are_recorded_from_the_rewards_events(stamps, config, db):
    card = active_card(stamps, stamps_to_fill=1, tickets=[{"at": 1, "reward_id": COFFEE}],
                       validity={"mode": "date", "until": "2030-12-31"})
    assert card["validity"]["until"] == "2030-12-31"
    assert card["validity"]["ends_at"] == "2030-12-31T17:00:00+00:00"  # the end of that day in Bangkok
    ticket_id = give(stamps, 1)["tickets"][0]["ticket_id"]
    dispatch = event_dispatcher(config)

    def publish(event_type, data):
        dispatch("rewards", f"{event_type}.v1", {
            "event_id": str(uuid.uuid4()), "type": f"rewards.{event_type}", "version": 1, "shop_id": str(SHOP),
            "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "data": data})

    coupon_id = str(uuid.uuid4())
    publish("coupons_issued", {"source": "stamp_card", "source_ref": ticket_id, "reward_id": COFFEE,
                               "coupons": [{"coupon_id": coupon_id, "code": "ABCD-EFGH2", "phone": PHONE}]})
    ticket = wait_for(lambda: stamps.member_stamps({"shop_id": str(SHOP), "phone": PHONE})["tickets"][0]
                      if db.execute("SELECT coupon_id FROM stamp_tickets").fetchone()["coupon_id"] else None)
    assert (ticket["coupon_id"], ticket["coupon_code"], ticket["used_at"]) == (coupon_id, "ABCD-EFGH2", None)
    change = {"coupon_id": coupon_id, "source": "stamp_card", "source_ref": ticket_id,
              "used_at": datetime.datetime.now(datetime.UTC).isoformat(), "used_branch_id": str(BRANCH)}
    publish("coupon_used", change)
    assert wait_for(lambda: db.execute("SELECT used_at FROM stamp_tickets").fetchone()["used_at"] is not None)
    publish("coupon_use_undone", {**change, "used_at": None, "used_branch_id": None})
    assert wait_for(lambda: db.execute("SELECT used_at FROM stamp_tickets").fetchone()["used_at"] is None)
    publish("coupon_used", {**change, "source": "campaign", "source_ref": "x"})  # not a ticket: ignored
    assert wait_for(lambda: db.execute("SELECT count(*) FROM inbox WHERE handler = 'stamps.coupon_used'")
                    .fetchone()["count"] == 2)
    assert db.execute("SELECT used_at FROM stamp_tickets").fetchone()["used_at"] is None


def test_scans_racing_a_suspension_leave_no_stamp_on_the_suspended_card(stamps, config, db):
    card = active_card(stamps, validity={"mode": "days", "days": 30})
    code = printed(stamps, limit=5)

    def attempt(n):
        with ServiceRpcProxy("points", config, timeout=30) as proxy:
            if n == 15:
                return proxy.suspend_stamp_card(ref(card, confirm=True))["status"]
            try:
                if n % 5 == 0:  # an edit of the validity meanwhile (it updates members' rows: no deadlock)
                    proxy.update_stamp_card(ref(card, validity={"mode": "days", "days": 30 + n}))
                return scan(proxy, code["token"], phone=f"+668100{n:05d}", key=f"s-{n}")["stamps"]
            except errors.ServiceError as exc:
                return exc.code

    outcomes = list(eventlet.GreenPool(30).imap(attempt, range(30)))
    assert "suspended" in outcomes
    assert set(outcomes) <= {1, "suspended", "no_active_card", "card_suspended"}
    stamps.run_stamp_expiry({})  # finishes any reset a concurrent run skipped
    assert db.execute("SELECT coalesce(sum(stamps), 0) AS s FROM stamp_card_members").fetchone()["s"] == 0
    assert db.execute("SELECT reset_done_at FROM stamp_cards").fetchone()["reset_done_at"] is not None
    check_stamp_ledger(db)


def test_a_stamp_after_the_members_card_expired_starts_a_new_card_before_the_job_runs(stamps, db):
    active_card(stamps, validity={"mode": "days", "days": 30})
    give(stamps, 2)
    db.execute("UPDATE stamp_card_members SET expires_at = now() - interval '1 minute'")
    later = give(stamps, 1)
    assert (later["card_no"], later["stamps_after"]) == (2, 1)
    assert [e["data"]["stamps"] for e in events(db, "stamps.expired")] == [2]
    kinds = [row["kind"] for row in db.execute("SELECT kind FROM stamp_entries ORDER BY entry_id")]
    assert kinds == ["grant", "grant", "expire", "grant"]
    assert member_card(stamps)["expires_at"] is not None
    check_stamp_ledger(db)
