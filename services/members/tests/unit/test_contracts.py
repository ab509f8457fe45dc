import pytest

from chassis import errors
from members import contracts


def test_a_shop_defaults_to_bangkok_time():
    cmd = errors.load(contracts.CreateShop(), {"idempotency_key": "k", "name": "Cafe"})
    assert cmd["timezone"] == "Asia/Bangkok"


@pytest.mark.parametrize("body,field", [
    ({"idempotency_key": "k", "name": ""}, "name"),
    ({"idempotency_key": "k", "name": "x" * 201}, "name"),
    ({"idempotency_key": "k", "name": "Cafe", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "Cafe"}, "idempotency_key"),
])
def test_bad_shop_requests_name_the_field(body, field):
    with pytest.raises(errors.InvalidInput) as caught:
        errors.load(contracts.CreateShop(), body)
    assert field in caught.value.fields


def test_points_earned_data_ignores_fields_it_does_not_know():
    data = contracts.PointsEarnedData().load({
        "phone": "0812345678", "points": 5, "balance": 5, "balance_seq": 1, "new_field": "x",
        "sale": {"sale_id": "5b0c7c5e-4c8e-4a55-9b9a-6a1a0f2c1d11", "amount_satang": 100, "other": 1},
    })
    assert data["phone"] == "+66812345678" and "new_field" not in data
