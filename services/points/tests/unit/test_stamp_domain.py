"""Stamp cards' pure rules: lifecycle, design, stamps per purchase, tickets, carry-over, validity."""
import datetime
import uuid
import zoneinfo

import pytest

from chassis.errors import Conflict, InvalidInput
from points import stamp_domain as domain

BKK = zoneinfo.ZoneInfo("Asia/Bangkok")
NOW = datetime.datetime(2027, 3, 10, 5, 0, tzinfo=datetime.UTC)  # 12:00 in Bangkok
TOPPING, COFFEE = uuid.uuid4(), uuid.uuid4()


def card(**over):
    base = {"status": "active", "stamps_to_fill": 10, "rule_mode": "per_visit", "stamps_per_visit": 1,
            "unit_satang": None, "max_per_purchase": 50, "welcome_stamps": 0,
            "tickets": [{"at": 5, "reward_id": str(TOPPING)}, {"at": 10, "reward_id": str(COFFEE)}],
            "validity_mode": "none", "valid_until": None, "valid_days": None}
    return {**base, **over}


def member(stamps=0, card_no=1, started_at=None, expires_at=None):
    return {"stamps": stamps, "card_no": card_no, "started_at": started_at, "expires_at": expires_at}


def codes(call):
    with pytest.raises((Conflict, InvalidInput)) as caught:
        call()
    return caught.value.code


# --- lifecycle -------------------------------------------------------------------

def test_a_draft_is_freely_editable():
    domain.check_edit("draft", ["name", "tickets", "stamps_to_fill", "validity"])


def test_an_active_card_takes_only_a_new_expiry():
    domain.check_edit("active", ["validity"])
    with pytest.raises(Conflict) as caught:
        domain.check_edit("active", ["validity", "name", "tickets"])
    assert caught.value.code == "card_field_locked" and set(caught.value.fields) == {"name", "tickets"}


def test_a_suspended_or_deleted_card_never_changes():
    assert codes(lambda: domain.check_edit("suspended", ["validity"])) == "card_suspended"
    assert codes(lambda: domain.check_edit("deleted", [])) == "card_deleted"


def test_only_one_active_card_per_shop():
    assert codes(lambda: domain.check_activation("draft", uuid.uuid4(), None, NOW)) == "active_card_exists"
    assert domain.check_activation("draft", None, None, NOW) is True
    assert domain.check_activation("active", None, None, NOW) is False


def test_a_suspended_card_can_never_be_activated_again():
    assert codes(lambda: domain.check_activation("suspended", None, NOW, NOW + datetime.timedelta(days=9))) \
        == "card_suspended"


def test_a_new_card_waits_24_hours_after_a_suspension():
    suspended = NOW
    assert codes(lambda: domain.check_waiting_time(suspended, NOW + datetime.timedelta(hours=1))) \
        == "card_waiting_time"
    assert codes(lambda: domain.check_waiting_time(suspended, NOW + datetime.timedelta(hours=23, minutes=59))) \
        == "card_waiting_time"
    domain.check_waiting_time(suspended, NOW + datetime.timedelta(hours=24))
    domain.check_waiting_time(None, NOW)
    assert codes(lambda: domain.check_activation("draft", None, suspended, NOW + datetime.timedelta(hours=2))) \
        == "card_waiting_time"


def test_suspending_needs_an_explicit_confirmation_and_an_active_card():
    assert codes(lambda: domain.check_suspension("active", False)) == "suspension_not_confirmed"
    assert codes(lambda: domain.check_suspension("draft", True)) == "card_not_active"
    assert domain.check_suspension("active", True) is True
    assert domain.check_suspension("suspended", True) is False


def test_only_a_draft_is_deleted():
    assert domain.check_delete("draft") is True
    assert codes(lambda: domain.check_delete("active")) == "card_not_deletable"
    assert codes(lambda: domain.check_delete("suspended")) == "card_not_deletable"


# --- design ----------------------------------------------------------------------

def design(**over):
    base = {"stamps_to_fill": 10, "welcome_stamps": 0,
            "tickets": [{"at": 5, "reward_id": TOPPING}, {"at": 10, "reward_id": COFFEE}]}
    return {**base, **over}


def test_the_last_ticket_is_at_the_full_card():
    assert domain.design_problems(design()) == {}
    assert "tickets" in domain.design_problems(design(tickets=[{"at": 5, "reward_id": TOPPING}]))
    assert "tickets" in domain.design_problems(design(tickets=[{"at": 12, "reward_id": TOPPING}]))
    assert "tickets" in domain.design_problems(design(tickets=[{"at": 10, "reward_id": TOPPING},
                                                               {"at": 10, "reward_id": COFFEE}]))
    assert "welcome_stamps" in domain.design_problems(design(welcome_stamps=10))


def test_stamps_per_visit_or_per_whole_x_baht_capped_per_purchase():
    assert domain.stamps_for_purchase(card(stamps_per_visit=2), 999_00) == 2
    per_amount = card(rule_mode="per_amount", unit_satang=100_00, max_per_purchase=5)
    assert domain.stamps_for_purchase(per_amount, 250_00) == 2
    assert domain.stamps_for_purchase(per_amount, 99_99) == 0
    assert domain.stamps_for_purchase(per_amount, 10_000_00) == 5
    assert codes(lambda: domain.stamps_for_purchase(per_amount, None)) == "invalid_input"


def test_a_card_valid_n_days_ends_with_the_shop_day_n_days_after_the_first_stamp():
    late = datetime.datetime(2027, 3, 10, 16, 30, tzinfo=datetime.UTC)  # 23:30 on 10 March in Bangkok
    expires = domain.member_card_expiry("days", None, 30, late, BKK)
    assert expires == datetime.datetime(2027, 4, 10, 0, 0, tzinfo=BKK)
    assert domain.member_card_expiry("none", None, None, late, BKK) is None
    assert domain.member_card_expiry("date", NOW, None, late, BKK) == NOW


def test_a_card_past_its_date_or_not_active_gives_no_stamp():
    assert codes(lambda: domain.card_usable(None, NOW)) == "no_active_card"
    assert codes(lambda: domain.card_usable(card(status="suspended"), NOW)) == "no_active_card"
    assert codes(lambda: domain.card_usable(card(validity_mode="date", valid_until=NOW), NOW)) == "card_expired"


# --- grants ----------------------------------------------------------------------

def test_the_first_stamp_issues_the_card_with_its_welcome_stamps():
    plan = domain.plan_grant(member(), card(validity_mode="days", valid_days=30), 1, NOW, BKK, welcome=2)
    kinds = [(e["kind"], e["stamps"], e["opens_card"]) for e in plan["entries"]]
    assert kinds == [("welcome", 2, True), ("grant", 1, False)]
    assert plan["entries"][1]["card_started_at"] == NOW and plan["entries"][1]["card_expires_at"] is not None
    assert plan["stamps_after"] == 3 and plan["tickets"] == [] and plan["filled"] == []


def test_a_ticket_at_each_count_reached():
    plan = domain.plan_grant(member(stamps=4, started_at=NOW), card(), 2, NOW, BKK)
    assert plan["tickets"] == [(1, 5, str(TOPPING))] and plan["stamps_after"] == 6


def test_a_full_card_gives_the_last_ticket_and_extra_stamps_carry_over():
    plan = domain.plan_grant(member(stamps=9, started_at=NOW), card(), 3, NOW, BKK)
    assert plan["tickets"] == [(1, 10, str(COFFEE))] and plan["filled"] == [1]
    assert plan["stamps_after"] == 2 and plan["card_no"] == 2
    complete = plan["entries"][-1]
    assert (complete["kind"], complete["stamps"], complete["card_no"], complete["opens_card"]) == \
        ("complete", -10, 2, True)


def test_a_card_filled_exactly_starts_the_next_one_at_the_next_stamp():
    plan = domain.plan_grant(member(stamps=9, started_at=NOW), card(), 1, NOW, BKK)
    complete = plan["entries"][-1]
    assert plan["stamps_after"] == 0 and complete["card_started_at"] is None and not complete["opens_card"]


def test_a_big_purchase_fills_several_cards_with_every_ticket():
    plan = domain.plan_grant(member(stamps=3, started_at=NOW), card(), 25, NOW, BKK)
    assert plan["tickets"] == [(1, 5, str(TOPPING)), (1, 10, str(COFFEE)), (2, 5, str(TOPPING)),
                               (2, 10, str(COFFEE)), (3, 5, str(TOPPING))]
    assert plan["filled"] == [1, 2] and plan["stamps_after"] == 8 and plan["card_no"] == 3


def test_an_expired_card_closes_before_the_new_stamp():
    old = member(stamps=4, started_at=NOW - datetime.timedelta(days=40), expires_at=NOW - datetime.timedelta(days=1))
    plan = domain.plan_grant(old, card(validity_mode="days", valid_days=30), 1, NOW, BKK)
    assert [(e["kind"], e["stamps"], e["card_no"]) for e in plan["entries"]] == [("expire", -4, 2), ("grant", 1, 2)]
    assert plan["entries"][1]["opens_card"] and plan["stamps_after"] == 1


# --- voids -----------------------------------------------------------------------

def test_a_void_takes_back_only_what_the_card_still_holds():
    grant = {"kind": "grant", "stamps": 3, "card_no": 1}
    assert domain.plan_void(member(stamps=5), grant) == (3, 0)
    assert domain.plan_void(member(stamps=2), grant) == (2, 1)
    assert domain.plan_void(member(stamps=7, card_no=2), grant) == (0, 3)
    assert codes(lambda: domain.plan_void(member(), {"kind": "complete", "stamps": -10, "card_no": 1})) \
        == "not_voidable"


# --- statistics and tokens ---------------------------------------------------------

def test_statistics_stop_at_yesterday_unless_live():
    today = datetime.date(2027, 3, 10)
    start, end, last = domain.stats_window(datetime.date(2027, 3, 1), today, today, False, BKK)
    assert last == datetime.date(2027, 3, 9) and end == datetime.datetime(2027, 3, 10, tzinfo=BKK)
    assert start == datetime.datetime(2027, 3, 1, tzinfo=BKK)
    assert domain.stats_window(datetime.date(2027, 3, 1), today, today, True, BKK)[2] == today


def test_stamp_tokens_are_signed_and_bound_to_the_shop():
    shop, other = uuid.uuid4(), uuid.uuid4()
    qr_id, branch = uuid.uuid4(), uuid.uuid4()
    token = domain.one_time_token("secret-0123456789", shop, qr_id, NOW)
    assert domain.read_token("secret-0123456789", shop, token) == ("one_time", qr_id)
    printed = domain.printed_token("secret-0123456789", shop, branch, 3)
    assert domain.read_token("secret-0123456789", shop, printed) == ("printed", (branch, 3))
    for bad in (token[:-2] + "xx", token.replace("S1", "Q1"), "nonsense", printed.replace(".3.", ".4.")):
        assert codes(lambda bad=bad: domain.read_token("secret-0123456789", shop, bad)) == "qr_invalid"
    assert codes(lambda: domain.read_token("secret-0123456789", other, token)) == "qr_invalid"
