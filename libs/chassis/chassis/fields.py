"""Marshmallow field types for values on the wire (not business rules)."""
import re

import phonenumbers
from marshmallow import ValidationError, fields


def normalise_phone(raw, region="TH"):
    """'081-234-5678', '0812345678', '+66812345678' -> '+66812345678'.

    Raises ValueError with the reason when the text is not a valid number.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("phone number is required")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Phone(fields.String):
    """A phone number, loaded as E.164. Thai numbers without +66 are accepted."""

    def __init__(self, region="TH", **kwargs):
        self.region = region
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_phone(text, self.region)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Money(fields.Field):
    """An amount of baht on the wire ("125.50" or 125.5), held as integer satang.

    Refuses more than two decimals, NaN/infinity, and amounts outside
    [minimum, maximum] satang. Dumps satang back to a "125.50" string.
    """

    default_error_messages = {
        "invalid": "must be an amount in baht with at most 2 decimals",
        "range": "must be between {low} and {high} baht",
    }

    def __init__(self, minimum=1, maximum=10_000_000_00, **kwargs):
        self.minimum = minimum
        self.maximum = maximum
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        import decimal

        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.make_error("invalid")
        try:
            amount = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite() or amount.as_tuple().exponent < -2:
            raise self.make_error("invalid")
        satang = int(amount * 100)
        if not self.minimum <= satang <= self.maximum:
            raise self.make_error("range", low=baht(self.minimum), high=baht(self.maximum))
        return satang

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else baht(value)


def baht(satang):
    """12550 -> "125.50": integer satang as baht text."""
    sign = "-" if satang < 0 else ""
    return f"{sign}{abs(satang) // 100}.{abs(satang) % 100:02d}"


# What an erased member's records carry instead of their phone, in every service.
PSEUDONYM = re.compile(r"^erased:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class PhoneOrPseudonym(fields.String):
    """A phone (any written form, loaded as E.164), or an erased member's pseudonym
    `erased:<member_id>` (what their records carry after an erasure)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if PSEUDONYM.match(text):
            return text
        try:
            return normalise_phone(text)
        except ValueError as exc:
            raise ValidationError(f"{exc} (or an erased member's pseudonym erased:<member_id>)") from None
