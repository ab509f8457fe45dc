"""Tier rules: settings checks, points received, windows, cycle ends, expiry, decisions."""
import datetime
import uuid

import pytest

from chassis import errors
from members import tier_contracts, tiers

BKK = "Asia/Bangkok"
SEED = [{"name": "Basic", "threshold": 500}, {"name": "Gold", "threshold": 1000},
        {"name": "Platinum", "threshold": 2000}]


def at(text):
    return datetime.datetime.fromisoformat(text)


def terms(**changes):
    body = {"shop_id": "df4810d5-c5e1-43ef-be54-dac9255f80ad", "tiers": SEED, "window_months": 1,
            "downgrade": {"mode": "cycle", "cycle": "monthly"}}
    body.update(changes)
    return body


def refused(body):
    with pytest.raises(errors.InvalidInput) as caught:
        errors.load(tier_contracts.TierTerms(), body)
    return caught.value.fields


# --- settings -------------------------------------------------------------------

def test_the_seed_tiers_are_valid():
    assert tiers.tier_errors(SEED) == {}
    assert errors.load(tier_contracts.TierTerms(), terms())["window_months"] == 1


def test_six_tiers_are_refused_naming_the_field():
    six = [{"name": f"T{n}", "threshold": n * 100} for n in range(6)]
    assert refused(terms(tiers=six)) == {"tiers": ["at most 5 tiers, got 6"]}


def test_duplicate_names_are_refused_whatever_their_case():
    fields = refused(terms(tiers=[{"name": "Gold", "threshold": 1}, {"name": " gold", "threshold": 2}]))
    assert list(fields) == ["tiers.1.name"] and "duplicate name" in fields["tiers.1.name"][0]


@pytest.mark.parametrize("second", [500, 400])
def test_unordered_or_equal_thresholds_are_refused(second):
    fields = refused(terms(tiers=[{"name": "Basic", "threshold": 500}, {"name": "Gold", "threshold": second}]))
    assert list(fields) == ["tiers.1.threshold"] and "greater than" in fields["tiers.1.threshold"][0]


def test_an_upper_bound_that_overlaps_the_next_tier_is_refused():
    fields = refused(terms(tiers=[{"name": "Basic", "threshold": 500, "max_points": 1000},
                                  {"name": "Gold", "threshold": 1000}]))
    assert fields == {"tiers.0.max_points": ["overlaps the next tier: must be 999 (next threshold 1000 - 1)"]}


def test_an_upper_bound_that_leaves_a_gap_or_tops_the_last_tier_is_refused():
    assert "gap" in tiers.tier_errors([{"name": "A", "threshold": 1, "max_points": 5},
                                       {"name": "B", "threshold": 10}])["tiers.0.max_points"][0]
    assert tiers.tier_errors([{"name": "A", "threshold": 1, "max_points": 5}]) == {
        "tiers.0.max_points": ["the highest tier has no maximum"]}


def test_ranges_written_as_the_seed_writes_them_are_accepted():
    assert tiers.tier_errors([{"name": "Basic", "threshold": 500, "max_points": 999},
                              {"name": "Gold", "threshold": 1000, "max_points": 1999},
                              {"name": "Platinum", "threshold": 2000}]) == {}


@pytest.mark.parametrize("downgrade, field", [
    ({"mode": "cycle"}, "downgrade.cycle"),
    ({"mode": "tier_expiry"}, "downgrade.months"),
    ({"mode": "tier_expiry", "months": 3, "cycle": "yearly"}, "downgrade.cycle"),
    ({"mode": "cycle", "cycle": "weekly"}, "downgrade.cycle"),
    ({"mode": "forever"}, "downgrade.mode"),
])
def test_a_downgrade_rule_needs_exactly_its_own_setting(downgrade, field):
    assert field in refused(terms(downgrade=downgrade))


def test_only_windows_of_1_3_6_or_12_months_are_accepted():
    assert "window_months" in refused(terms(window_months=2))


def test_same_terms_ignore_how_the_request_wrote_them():
    stored = {"tiers": SEED, "window_months": 1, "downgrade_mode": "cycle", "expiry_months": None,
              "cycle": "monthly"}
    assert tiers.terms(stored) == tiers.terms(dict(stored, tiers=[dict(t) for t in SEED]))
    assert tiers.terms(stored) != tiers.terms(dict(stored, window_months=3))


# --- points received --------------------------------------------------------------

@pytest.mark.parametrize("event_type, data, received", [
    ("points.earned", {"points": 40, "kind": "earn"}, 40),
    ("points.earned", {"points": 100, "kind": "welcome"}, 100),
    ("points.adjusted", {"points": 250, "source": "import"}, 250),
    ("points.adjusted", {"points": -50}, 0),
    ("points.voided", {"points": -30, "target_kind": "earn", "requested": 40}, -40),
    ("points.voided", {"points": -30, "target_kind": "adjust", "requested": None}, -30),
    ("points.voided", {"points": 90, "target_kind": "redeem", "requested": 90}, 0),
    ("points.redeemed", {"points": -90}, 0),
    ("points.expired", {"points": -500}, 0),
])
def test_points_received_count_credits_less_voided_credits_only(event_type, data, received):
    assert tiers.received_points(event_type, data) == received


# --- windows, cycle ends, expiry ----------------------------------------------------

def test_seed_example_last_month_as_of_1_may_2022_is_1_april_to_1_may_and_500_is_basic():
    assert tiers.window(datetime.date(2022, 5, 1), 1) == (datetime.date(2022, 4, 1), datetime.date(2022, 5, 1))
    assert tiers.tier_for(500, SEED)["name"] == "Basic"
    assert tiers.tier_for(499, SEED) is None
    assert tiers.tier_for(1999, SEED)["name"] == "Gold" and tiers.tier_for(2000, SEED)["name"] == "Platinum"


def test_a_window_from_a_day_the_earlier_month_lacks_starts_on_its_last_day():
    assert tiers.window(datetime.date(2022, 3, 31), 1)[0] == datetime.date(2022, 2, 28)
    assert tiers.window(datetime.date(2024, 3, 31), 1)[0] == datetime.date(2024, 2, 29)
    assert tiers.window(datetime.date(2022, 5, 15), 12)[0] == datetime.date(2021, 5, 15)


def test_the_local_day_is_the_shops():
    assert tiers.local_day(at("2022-04-30T18:00:00+00:00"), BKK) == datetime.date(2022, 5, 1)


@pytest.mark.parametrize("cycle, as_of, end", [
    ("monthly", "2022-07-01T00:00:00+07:00", datetime.date(2022, 6, 30)),
    ("monthly", "2022-06-30T23:59:59+07:00", datetime.date(2022, 5, 31)),
    ("monthly", "2022-03-10T12:00:00+07:00", datetime.date(2022, 2, 28)),
    ("quarterly", "2022-08-15T12:00:00+07:00", datetime.date(2022, 6, 30)),
    ("quarterly", "2022-02-01T12:00:00+07:00", datetime.date(2021, 12, 31)),
    ("half_yearly", "2022-06-15T12:00:00+07:00", datetime.date(2021, 12, 31)),
    ("half_yearly", "2022-07-01T00:00:00+07:00", datetime.date(2022, 6, 30)),
    ("yearly", "2022-12-31T17:00:00+00:00", datetime.date(2022, 12, 31)),
    ("yearly", "2022-12-31T16:59:59+00:00", datetime.date(2021, 12, 31)),
])
def test_the_latest_cycle_end_is_counted_in_the_shops_time_zone(cycle, as_of, end):
    assert tiers.last_cycle_end(at(as_of), cycle, BKK) == end


def test_a_cycle_ends_at_the_shops_midnight_after_its_last_day():
    assert tiers.end_of_day(datetime.date(2022, 6, 30), BKK) == at("2022-06-30T17:00:00+00:00")


def test_a_tier_expires_the_same_local_time_n_months_after_it_was_reached():
    assert tiers.tier_expires_at(at("2022-01-31T10:00:00+07:00"), 1, BKK) == at("2022-02-28T10:00:00+07:00")
    assert tiers.tier_expires_at(at("2022-05-01T03:00:00+00:00"), 12, BKK) == at("2023-05-01T03:00:00+00:00")


# --- decisions --------------------------------------------------------------------

BASIC, GOLD = {"tier_id": "b", "position": 1}, {"tier_id": "g", "position": 2}


def test_an_earn_moves_a_member_up_at_once():
    assert tiers.on_earn(None, BASIC) == (BASIC, "upgrade")
    assert tiers.on_earn(BASIC, GOLD) == (GOLD, "upgrade")


def test_an_earn_never_moves_a_member_down_or_sideways():
    assert tiers.on_earn(GOLD, BASIC) is None
    assert tiers.on_earn(GOLD, GOLD) is None
    assert tiers.on_earn(GOLD, None) is None


def test_a_tier_the_settings_dropped_gives_way_at_the_next_earn():
    retired = {"tier_id": "s", "position": None}
    assert tiers.on_earn(retired, BASIC) == (BASIC, "settings_changed")
    assert tiers.on_earn(retired, None) is None


def test_a_dry_run_ranks_a_held_tier_by_its_name_else_by_its_threshold():
    proposed = [{"name": "Basic", "threshold": 100}, {"name": "Gold", "threshold": 400}]
    assert tiers.movement(None, None, 0, proposed) == "stay"
    assert tiers.movement(None, None, 1, proposed) == "up"
    assert tiers.movement("Gold", 1000, 1, proposed) == "down"
    assert tiers.movement("Gold", 1000, 2, proposed) == "stay"
    assert tiers.movement("Silver", 700, 1, proposed) == "down"
    assert tiers.movement("Silver", 300, 2, proposed) == "up"


# --- events -------------------------------------------------------------------------

def test_the_cycles_bulk_event_data_is_what_the_tier_changed_schema_dumps():
    row = {"member_id": uuid.uuid4(), "phone": "+66812345678", "from_tier": "Gold", "to_tier": None,
           "from_tier_id": uuid.uuid4(), "to_tier_id": None, "window_points": 120,
           "window_start": datetime.date(2022, 5, 31), "window_end": datetime.date(2022, 6, 30), "decision_id": 7,
           "decided_at": at("2022-06-30T17:00:00+00:00")}
    bulk = tier_contracts.tier_changed_data(row, "cycle_end", 3)
    assert bulk == tier_contracts.TIER_CHANGED.dump({**row, "reason": "cycle_end", "settings_version": 3})
    assert (bulk["from"], bulk["to"], bulk["phone"]) == ("Gold", None, "+66812345678")


def test_missed_cycle_ends_are_caught_up_oldest_first_and_never_twice():
    d = datetime.date
    as_of = at("2022-06-10T12:00:00+07:00")
    assert tiers.due_cycle_ends(as_of, "monthly", BKK, last_done=d(2022, 2, 28)) == [
        d(2022, 3, 31), d(2022, 4, 30), d(2022, 5, 31)]
    assert tiers.due_cycle_ends(as_of, "monthly", BKK, last_done=d(2022, 5, 31)) == []
    assert tiers.due_cycle_ends(as_of, "quarterly", BKK, last_done=d(2021, 9, 30)) == [
        d(2021, 12, 31), d(2022, 3, 31)]
    # never before the tiers began, and at most `limit` (the latest ones)
    began = at("2022-04-15T09:00:00+07:00")
    assert tiers.due_cycle_ends(as_of, "monthly", BKK, started_at=began) == [d(2022, 4, 30), d(2022, 5, 31)]
    assert tiers.due_cycle_ends(as_of, "monthly", BKK, limit=2) == [d(2022, 4, 30), d(2022, 5, 31)]
