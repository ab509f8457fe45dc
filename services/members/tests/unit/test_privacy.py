import datetime
import zoneinfo

import pytest

from chassis import errors
from members import privacy
from members import privacy_contracts as contracts

BKK = zoneinfo.ZoneInfo("Asia/Bangkok")


def bkk(*args):
    return datetime.datetime(*args, tzinfo=BKK)


def test_a_cancelled_shop_is_kept_90_days_after_the_end_of_its_month_in_shop_time():
    due = privacy.purge_due_at(bkk(2026, 1, 15, 10, 0), "Asia/Bangkok")
    assert due == bkk(2026, 2, 1) + datetime.timedelta(days=90)
    assert due == bkk(2026, 5, 2)


def test_the_month_of_cancellation_is_the_shop_local_month():
    # 31 January 20:00 UTC is already 1 February in Bangkok: the month is February
    due = privacy.purge_due_at(datetime.datetime(2026, 1, 31, 20, 0, tzinfo=datetime.UTC), "Asia/Bangkok")
    assert due == bkk(2026, 3, 1) + datetime.timedelta(days=90)


def test_a_december_cancellation_ends_its_month_in_the_next_year():
    assert privacy.month_end(bkk(2026, 12, 31, 23, 59), "Asia/Bangkok") == bkk(2027, 1, 1)


def test_answers_are_kept_through_the_last_shop_day_of_retention():
    before = privacy.answers_answered_before(bkk(2026, 3, 31, 0, 30), "Asia/Bangkok", 30)
    assert before == bkk(2026, 3, 1)
    before_late = privacy.answers_answered_before(bkk(2026, 3, 31, 23, 59), "Asia/Bangkok", 30)
    assert before_late == before


def test_the_pseudonym_names_the_member_not_the_phone():
    assert privacy.pseudonym("7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10") == "erased:7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"


def test_a_member_is_named_by_id_or_phone_not_both_nor_neither():
    shop = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
    assert errors.load(contracts.MEMBER_REF, {"shop_id": shop, "phone": "081-234-5678"})["phone"] == "+66812345678"
    pseudonym = f"erased:{shop}"
    assert errors.load(contracts.MEMBER_REF, {"shop_id": shop, "phone": pseudonym})["phone"] == pseudonym
    for bad in ({"shop_id": shop}, {"shop_id": shop, "member_id": shop, "phone": "0812345678"}):
        with pytest.raises(errors.InvalidInput) as caught:
            errors.load(contracts.MEMBER_REF, bad)
        assert "member_id" in caught.value.fields
    with pytest.raises(errors.InvalidInput) as caught:
        errors.load(contracts.MEMBER_REF, {"shop_id": shop, "phone": "erased:someone"})
    assert "phone" in caught.value.fields


def test_answer_retention_is_1_to_3650_days_or_null():
    shop = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
    assert errors.load(contracts.ANSWER_RETENTION, {"shop_id": shop, "days": None})["days"] is None
    for bad in (0, 3651, "30", 1.5):
        with pytest.raises(errors.InvalidInput) as caught:
            errors.load(contracts.ANSWER_RETENTION, {"shop_id": shop, "days": bad})
        assert "days" in caught.value.fields
