"""Marshmallow field types for values on the wire (not business rules)."""
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
