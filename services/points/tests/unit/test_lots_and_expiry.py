import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.domain import (
    ExpiryPolicy,
    add_months,
    consumption_order,
    end_of_day,
    lot_expiry,
    plan_take,
    points_to_void_for_refund,
)

UTC = datetime.UTC
BKK = "Asia/Bangkok"


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("day,months,expected", [
    (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),   # leap year
    (datetime.date(2023, 1, 31), 1, datetime.date(2023, 2, 28)),
    (datetime.date(2024, 8, 31), 6, datetime.date(2025, 2, 28)),
    (datetime.date(2024, 3, 15), 24, datetime.date(2026, 3, 15)),
    (datetime.date(2024, 12, 1), 1, datetime.date(2025, 1, 1)),
    (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
])
def test_months_later_clamps_to_the_last_day_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


def test_n_months_after_earning_ends_at_the_end_of_that_day_in_shop_time():
    # 31 Jan 2024 20:00 UTC is already 1 Feb 03:00 in Bangkok: the shop's day counts
    expires = lot_expiry(at(2024, 1, 31, 20, 0), ExpiryPolicy("months", 1), BKK)
    assert expires == at(2024, 3, 1, 16, 59, 59, 999999)  # 1 Mar 23:59:59.999999 Bangkok


def test_year_end_is_december_31_23_59_59_shop_time_of_the_year_earned():
    assert lot_expiry(at(2024, 6, 1), ExpiryPolicy("year_end"), BKK) == at(2024, 12, 31, 16, 59, 59, 999999)
    # 31 Dec 2024 18:00 UTC is 1 Jan 2025 in Bangkok: it belongs to 2025
    assert lot_expiry(at(2024, 12, 31, 18, 0), ExpiryPolicy("year_end"), BKK) == at(2025, 12, 31, 16, 59, 59, 999999)


def test_points_that_never_expire_have_no_date():
    assert lot_expiry(at(2024, 6, 1), ExpiryPolicy("never"), BKK) is None


def test_a_time_zone_with_daylight_saving_still_ends_the_day_locally():
    assert end_of_day(datetime.date(2024, 3, 10), "America/New_York") == at(2024, 3, 11, 3, 59, 59, 999999)


@pytest.mark.parametrize("mode,months", [
    ("months", None), ("months", 0), ("months", 25), ("never", 3), ("weekly", None)])
def test_invalid_policies_are_refused(mode, months):
    with pytest.raises(ValueError):
        ExpiryPolicy(mode, months)


def test_points_are_taken_from_lots_in_the_given_order_without_overdrawing_any():
    assert plan_take([(1, 5), (2, 10), (3, 7)], 12) == ([(1, 5), (2, 7)], 0)
    assert plan_take([(1, 5)], 8) == ([(1, 5)], 3)
    assert plan_take([(1, 0), (2, 4)], 4) == ([(2, 4)], 0)
    assert plan_take([], 0) == ([], 0)


def test_the_soonest_expiring_lot_pays_first_and_never_expiring_lots_last():
    lots = [(1, 5, None), (2, 5, at(2025, 6, 1)), (3, 5, at(2025, 1, 1)), (4, 5, at(2025, 1, 1))]
    assert [lot[0] for lot in consumption_order(lots)] == [3, 4, 2, 1]


@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=20), st.integers(min_value=0, max_value=25000))
def test_a_plan_takes_exactly_what_it_can(remainders, points):
    lots = list(enumerate(remainders))
    taken, shortfall = plan_take(lots, points)
    assert sum(t for _, t in taken) + shortfall == points
    assert shortfall == max(0, points - sum(remainders))
    assert all(0 < t <= dict(lots)[lot_id] for lot_id, t in taken)


@pytest.mark.parametrize("refunded,voided_before,expected", [
    (5000, 0, 2),      # half of 100 baht refunded: keep 2 of 4
    (1000, 0, 1),      # 90 baht left keeps floor(3.6) = 3
    (10000, 0, 4),     # all refunded
    (10000, 2, 2),     # the second half, after the first
    (20000, 0, 4),     # more than the order: capped
    (0, 0, 0),
])
def test_a_partial_refund_takes_back_points_in_proportion(refunded, voided_before, expected):
    assert points_to_void_for_refund(4, 10000, refunded, voided_before) == expected


@given(st.integers(1, 10_000), st.integers(1, 10**9), st.lists(st.integers(1, 10**8), max_size=8))
def test_successive_refunds_never_take_back_more_than_the_order_earned(points, amount, refunds):
    voided, refunded = 0, 0
    for refund in refunds:
        refunded += refund
        step = points_to_void_for_refund(points, amount, refunded, voided)
        assert step >= 0
        voided += step
    assert voided <= points
    if refunded >= amount:
        assert voided == points
