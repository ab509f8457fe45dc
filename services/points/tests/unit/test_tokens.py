import datetime
import uuid

import pytest

from points import tokens

SECRET = "test-secret"
SHOP = uuid.uuid4()
EXPIRES = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def test_a_one_time_token_reads_back_its_code_and_expiry():
    qr_id = uuid.uuid4()
    token = tokens.one_time(SECRET, SHOP, qr_id, EXPIRES)
    assert tokens.read_one_time(SECRET, SHOP, token) == (qr_id, EXPIRES)
    assert len(token) < 100  # fits a QR code a phone reads at a glance


def test_every_single_character_change_is_refused():
    token = tokens.one_time(SECRET, SHOP, uuid.uuid4(), EXPIRES)
    alphabet = "0123456789abcdefABCDEFXYZ-_."
    for position in range(len(token)):
        for replacement in alphabet:
            if replacement == token[position]:
                continue
            tampered = token[:position] + replacement + token[position + 1:]
            with pytest.raises(ValueError):
                tokens.read_one_time(SECRET, SHOP, tampered)


def test_a_token_of_another_shop_or_secret_is_refused():
    token = tokens.one_time(SECRET, SHOP, uuid.uuid4(), EXPIRES)
    with pytest.raises(ValueError):
        tokens.read_one_time(SECRET, uuid.uuid4(), token)
    with pytest.raises(ValueError):
        tokens.read_one_time("another-secret", SHOP, token)


def test_a_later_expiry_cannot_be_written_into_a_token():
    token = tokens.one_time(SECRET, SHOP, uuid.uuid4(), EXPIRES)
    kind, qr_hex, expires, signature = token.split(".")
    with pytest.raises(ValueError):
        tokens.read_one_time(SECRET, SHOP, f"{kind}.{qr_hex}.{int(expires) + 3600}.{signature}")


def test_printed_tokens_carry_branch_and_generation_and_are_not_one_time_tokens():
    branch = uuid.uuid4()
    token = tokens.printed(SECRET, SHOP, branch, 3)
    assert tokens.read_printed(SECRET, SHOP, token) == (branch, 3)
    with pytest.raises(ValueError):
        tokens.read_one_time(SECRET, SHOP, token)
    with pytest.raises(ValueError):
        tokens.read_printed(SECRET, SHOP, token.replace(".3.", ".4."))


@pytest.mark.parametrize("junk", ["", "Q1", "Q1.a.b", "Q1.zz.1.sig", "x" * 300, "Q1.a.b.c.d"])
def test_junk_is_refused(junk):
    with pytest.raises(ValueError):
        tokens.read_one_time(SECRET, SHOP, junk)
