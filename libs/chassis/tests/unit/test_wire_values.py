import pytest
from marshmallow import Schema, ValidationError

from chassis import fields, idempotency, outbox


@pytest.mark.parametrize("raw", ["081-234-5678", "0812345678", "+66812345678", "66812345678", " 081 234 5678 "])
def test_thai_mobile_numbers_written_differently_are_one_person(raw):
    assert fields.normalise_phone(raw) == "+66812345678"


@pytest.mark.parametrize("raw", ["", "123", "abc", "08123456789", None])
def test_invalid_phone_numbers_are_refused_with_a_reason(raw):
    with pytest.raises(ValueError) as caught:
        fields.normalise_phone(raw)
    assert str(caught.value)


def test_phone_field_reports_the_reason_on_the_field():
    class Form(Schema):
        phone = fields.Phone(required=True)

    with pytest.raises(ValidationError) as caught:
        Form().load({"phone": "12"})
    assert caught.value.messages == {"phone": ["not a valid phone number"]}
    assert Form().load({"phone": "0812345678"}) == {"phone": "+66812345678"}


def test_fingerprint_ignores_key_order_and_the_key_itself():
    a = idempotency.fingerprint({"phone": "1", "amount": "10", "idempotency_key": "k1"})
    b = idempotency.fingerprint({"amount": "10", "phone": "1", "idempotency_key": "k2"})
    assert a == b
    assert a != idempotency.fingerprint({"amount": "11", "phone": "1"})


def test_event_type_and_version_give_exchange_and_routing_key():
    assert outbox.routing_key("points.earned", 1) == ("points", "earned.v1")
    with pytest.raises(ValueError):
        outbox.routing_key("earned", 1)


def test_envelope_has_every_field_in_utc():
    import datetime

    bangkok = datetime.timezone(datetime.timedelta(hours=7))
    body = outbox.envelope("points.earned", 1, "s1", {"points": 5},
                           occurred_at=datetime.datetime(2026, 1, 1, 7, 0, tzinfo=bangkok))
    assert set(body) == {"event_id", "type", "version", "occurred_at", "shop_id", "data"}
    assert body["occurred_at"] == "2026-01-01T00:00:00+00:00"


class Priced(Schema):
    amount = fields.Money(required=True)


@pytest.mark.parametrize("raw,satang", [("125.50", 12550), (125.5, 12550), (100, 10000), ("0.01", 1), ("1e2", 10000)])
def test_money_loads_baht_as_integer_satang(raw, satang):
    assert Priced().load({"amount": raw}) == {"amount": satang}


@pytest.mark.parametrize("raw", ["-5", "0", "1.005", "abc", "NaN", "Infinity", True, None, [], "10000000.01"])
def test_money_refuses_negative_zero_fractional_satang_and_huge_amounts(raw):
    with pytest.raises(ValidationError) as caught:
        Priced().load({"amount": raw})
    assert "amount" in caught.value.messages


def test_money_dumps_satang_as_baht_text():
    assert Priced().dump({"amount": 12550}) == {"amount": "125.50"}
    assert Priced().dump({"amount": 7}) == {"amount": "0.07"}
