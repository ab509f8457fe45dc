import datetime
import zoneinfo

import pytest

from notifier import domain, templates

BKK = zoneinfo.ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize("text,expected", [
    ("a" * 160, ("gsm7", 1)), ("a" * 161, ("gsm7", 2)), ("a" * 306, ("gsm7", 2)), ("a" * 307, ("gsm7", 3)),
    ("{" * 80, ("gsm7", 1)), ("{" * 81, ("gsm7", 2)),
    ("ก" * 70, ("ucs2", 1)), ("ก" * 71, ("ucs2", 2)), ("ก" * 134, ("ucs2", 2)), ("ก" * 135, ("ucs2", 3)),
    ("คุณได้รับ 10 คะแนน", ("ucs2", 1)), ("😀" * 35, ("ucs2", 1)), ("😀" * 36, ("ucs2", 2)),
])
def test_sms_parts_count_thai_as_ucs2(text, expected):
    assert domain.sms_parts(text) == expected


def test_backoff_grows_with_jitter_and_honours_retry_after():
    assert domain.backoff(1, rng=lambda: 0) == 1.0 and domain.backoff(1, rng=lambda: 1) == 2.0
    assert domain.backoff(4, rng=lambda: 1) == 16.0
    assert domain.backoff(30, rng=lambda: 1) == domain.BACKOFF_CAP
    assert domain.backoff(1, retry_after=120, rng=lambda: 0) == 120


def test_quiet_hours_hold_marketing_until_morning_in_the_shop_time_zone():
    start, end = datetime.time(21), datetime.time(8)
    evening = datetime.datetime(2026, 11, 27, 15, 0, tzinfo=datetime.UTC)  # 22:00 Bangkok
    assert domain.quiet_until(evening, BKK, start, end) == datetime.datetime(2026, 11, 28, 1, 0, tzinfo=datetime.UTC)
    night = datetime.datetime(2026, 11, 27, 20, 0, tzinfo=datetime.UTC)  # 03:00 Bangkok next day
    assert domain.quiet_until(night, BKK, start, end) == datetime.datetime(2026, 11, 28, 1, 0, tzinfo=datetime.UTC)
    noon = datetime.datetime(2026, 11, 27, 5, 0, tzinfo=datetime.UTC)
    assert domain.quiet_until(noon, BKK, start, end) == noon


def test_channel_choice():
    shop = {"line_token": "t", "sms_enabled": True, "sms_provider": "webhook"}
    linked = {"line_user_id": "U1"}
    assert domain.choose_channel(linked, shop, "transactional") == ("line", "U1")
    assert domain.choose_channel({**linked, "line_blocked": True}, shop, "transactional") == ("sms", None)
    assert domain.choose_channel(None, shop, "marketing") == ("sms", None)
    assert domain.choose_channel(None, {**shop, "sms_enabled": False}, "marketing")[0] == "none"
    assert domain.choose_channel({**linked, "opt_out_marketing": True}, shop, "marketing") == (
        "none", "opted out of marketing messages")


def test_templates_refuse_unknown_fields_and_render_missing_ones_empty():
    templates.check("points_earned", "{name}: +{points}")
    with pytest.raises(templates.TemplateError):
        templates.check("points_earned", "{code}")
    with pytest.raises(templates.TemplateError):
        templates.check("points_earned", "{points")
    assert templates.render("Hi {name}, +{points}", {"points": 5}) == "Hi , +5"


@pytest.mark.parametrize("body", ["{points:{name.__class__}}", "{points!x}", "{expires:%Y}", "{points:>99999999999}",
                                  "{name.__class__}", "{name[0]}"])
def test_templates_with_specs_conversions_or_attribute_access_are_refused(body):
    with pytest.raises(templates.TemplateError):
        templates.check("points_expiring", body)


def test_rendering_never_evaluates_more_than_plain_names():
    assert templates.render("{name.__class__}{points}", {"name": "Nok", "points": 3}) == "3"
