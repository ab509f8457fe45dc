import pytest

from points.domain import EarnRule, points_for

ONE_PER_25_BAHT = EarnRule(points=1, unit_satang=2500)


@pytest.mark.parametrize("satang,points", [(2499, 0), (2500, 1), (4999, 1), (5000, 2), (12550, 5), (1, 0)])
def test_one_point_per_25_baht_rounds_down(satang, points):
    assert points_for(satang, ONE_PER_25_BAHT) == points


def test_several_points_per_unit():
    assert points_for(10000, EarnRule(points=3, unit_satang=10000)) == 3
    assert points_for(19999, EarnRule(points=3, unit_satang=10000)) == 5  # 5.9997 -> 5


def test_fractional_baht_units_stay_exact():
    # 1 point per 0.50 baht: 10.25 baht -> 20 points, no float anywhere
    assert points_for(1025, EarnRule(points=1, unit_satang=50)) == 20


def test_below_minimum_spend_earns_nothing():
    rule = EarnRule(points=1, unit_satang=2500, min_spend_satang=10000)
    assert points_for(9999, rule) == 0
    assert points_for(10000, rule) == 4


def test_large_spend_is_exact_integer_arithmetic():
    assert points_for(10_000_000_00, EarnRule(points=7, unit_satang=3)) == 10_000_000_00 * 7 // 3


def test_negative_spend_is_a_programming_error():
    with pytest.raises(ValueError):
        points_for(-1, ONE_PER_25_BAHT)


def test_rule_terms_compare_without_version():
    assert EarnRule(1, 2500, 0, version=1).same_terms(EarnRule(1, 2500, 0, version=7))
    assert not EarnRule(1, 2500).same_terms(EarnRule(2, 2500))
