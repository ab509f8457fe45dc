from marshmallow import Schema, fields, validate

from chassis import errors


class Sale(Schema):
    amount = fields.Integer(required=True, validate=validate.Range(min=1))
    items = fields.List(fields.Nested(lambda: Item()))


class Item(Schema):
    sku = fields.String(required=True)


def test_load_names_each_bad_field_and_reason():
    try:
        errors.load(Sale(), {"amount": -5, "items": [{"sku": "a"}, {}], "extra": 1})
    except errors.InvalidInput as exc:
        assert exc.code == "invalid_input"
        assert exc.fields["amount"] == ["Must be greater than or equal to 1."]
        assert exc.fields["items.1.sku"] == ["Missing data for required field."]
        assert exc.fields["extra"] == ["Unknown field."]
    else:
        raise AssertionError("bad input was accepted")


def test_load_refuses_a_body_that_is_not_an_object():
    try:
        errors.load(Sale(), ["not", "an", "object"])
    except errors.InvalidInput as exc:
        assert exc.fields == {"_schema": ["must be a JSON object"]}
    else:
        raise AssertionError("a list was accepted as a request")


def test_error_round_trips_through_nameko_serialisation():
    from nameko.exceptions import deserialize, serialize

    original = errors.Conflict("duplicate_receipt", "receipt already used", {"receipt_no": ["used"]})
    again = deserialize(serialize(original))
    assert type(again) is errors.Conflict
    assert again.to_dict() == original.to_dict()
    assert again.status == 409


def test_unexpected_errors_are_not_in_expected():
    assert not issubclass(errors.Unavailable, errors.EXPECTED)
    assert issubclass(errors.NotFound, errors.EXPECTED)
