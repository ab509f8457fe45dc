"""Rules of member sign-in: codes, tries, rate limits, member tokens, LINE ID tokens."""
import datetime
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from members import signin

NOW = datetime.datetime(2026, 5, 1, 3, 0, tzinfo=datetime.UTC)
CHANNEL = "1650000000"
SECRET = "0123456789abcdef0123456789abcdef"  # 32 hex, as LINE issues them
LINE_USER = "U" + "0123456789abcdef" * 2
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())


def claims(**override):
    base = {"iss": signin.LINE_ISSUER, "sub": LINE_USER, "aud": CHANNEL, "iat": int(NOW.timestamp()) - 60,
            "exp": int(NOW.timestamp()) + 3600, "nonce": "n-123", "name": "Somchai"}
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def hs256(secret=SECRET, **override):
    return jwt.encode(claims(**override), secret, algorithm="HS256")


def es256(key=EC_KEY, kid="k1", **override):
    return jwt.encode(claims(**override), key, algorithm="ES256", headers={"kid": kid})


def verify(token, nonce=None, now=NOW):
    keys = {"k1": EC_KEY.public_key()}
    return signin.verify_line_token(token, channel_id=CHANNEL, channel_secret=SECRET, es256_key=keys.get,
                                    now=now, nonce=nonce)


def refusal(token, **kwargs):
    with pytest.raises(signin.LineTokenError) as caught:
        verify(token, **kwargs)
    return caught.value.reason


# --- codes -------------------------------------------------------------------------

def test_a_code_is_six_digits_with_leading_zeros_kept():
    assert signin.new_code(lambda n: 42) == "000042"
    code = signin.new_code()
    assert len(code) == 6 and code.isdigit()


def test_a_code_hash_is_bound_to_its_challenge_and_the_pepper():
    one, two = uuid.uuid4(), uuid.uuid4()
    stored = signin.hash_code("123456", one, b"pepper")
    assert signin.code_matches("123456", one, stored, b"pepper")
    assert not signin.code_matches("123457", one, stored, b"pepper")
    assert not signin.code_matches("123456", two, stored, b"pepper")
    assert not signin.code_matches("123456", one, stored, b"other")
    assert b"123456" not in stored


def challenge(code="123456", status="live", attempts=0, expires_at=None):
    challenge_id = uuid.uuid4()
    return {"challenge_id": challenge_id, "code_hash": signin.hash_code(code, challenge_id), "status": status,
            "attempts": attempts, "expires_at": expires_at or signin.code_expiry(NOW)}


def test_the_right_code_in_time_is_used_once():
    attempt = signin.try_code(challenge(), "123456", NOW)
    assert (attempt.outcome, attempt.status) == ("ok", "used")
    assert signin.try_code(challenge(status="used"), "123456", NOW).outcome == "used"


def test_a_wrong_code_spends_a_try_and_the_fifth_kills_the_code():
    row = challenge()
    for tries_left in (4, 3, 2, 1):
        attempt = signin.try_code(row, "000000", NOW)
        assert (attempt.outcome, attempt.tries_left) == ("wrong_code", tries_left)
        row = {**row, "status": attempt.status, "attempts": attempt.attempts}
    attempt = signin.try_code(row, "000000", NOW)
    assert (attempt.outcome, attempt.status, attempt.attempts) == ("dead", "dead", 5)
    # dead stays dead, even for the right code
    assert signin.try_code({**row, "status": "dead", "attempts": 5}, "123456", NOW).outcome == "dead"


def test_a_code_expires_five_minutes_after_it_was_sent():
    row = challenge()
    assert signin.try_code(row, "123456", NOW + datetime.timedelta(minutes=4, seconds=59)).outcome == "ok"
    late = signin.try_code(row, "123456", NOW + datetime.timedelta(minutes=5))
    assert (late.outcome, late.attempts) == ("expired", 0)


def test_rate_limits_per_phone_then_per_address():
    limits = {"per_phone": 5, "per_ip": 20, "window_minutes": 60}
    assert signin.over_limit(4, 19, limits) is None
    assert signin.over_limit(5, 0, limits) == "phone"
    assert signin.over_limit(0, 20, limits) == "ip"
    assert signin.over_limit(0, None, limits) is None


# --- member tokens -------------------------------------------------------------------

def test_member_tokens_are_opaque_prefixed_and_stored_hashed():
    token, stored = signin.new_token()
    assert token.startswith("mt_") and len(token) > 40
    assert stored == signin.hash_token(token) and token.encode() not in stored
    assert signin.new_token()[0] != token
    assert signin.token_expiry(NOW, 30) == NOW + datetime.timedelta(days=30)


# --- LINE ID tokens -------------------------------------------------------------------

def test_a_web_login_token_signed_with_the_channel_secret_is_accepted():
    assert verify(hs256(), nonce="n-123")["sub"] == LINE_USER


def test_a_liff_token_signed_with_a_key_of_lines_jwks_is_accepted():
    assert verify(es256())["sub"] == LINE_USER


def test_a_bad_signature_is_refused():
    assert refusal(hs256(secret="fedcba9876543210fedcba9876543210")) == "bad_signature"
    assert refusal(es256(key=OTHER_EC_KEY)) == "bad_signature"
    assert refusal(es256(kid="unknown")) == "bad_signature"


def test_a_token_for_another_channel_is_refused():
    assert refusal(hs256(aud="1999999999")) == "wrong_audience"
    assert refusal(es256(aud=["1999999999"])) == "wrong_audience"


def test_an_expired_token_is_refused():
    assert refusal(hs256(exp=int(NOW.timestamp()))) == "expired"
    assert verify(hs256(), now=NOW + datetime.timedelta(minutes=59))
    assert refusal(hs256(), now=NOW + datetime.timedelta(hours=1)) == "expired"


def test_a_wrong_nonce_is_refused_when_the_client_sent_one():
    assert refusal(hs256(), nonce="n-other") == "wrong_nonce"
    assert refusal(hs256(nonce=None), nonce="n-123") == "wrong_nonce"
    assert verify(hs256())  # no nonce asked for


def test_another_issuer_another_algorithm_or_garbage_is_refused():
    assert refusal(hs256(iss="https://evil.example")) == "wrong_issuer"
    assert refusal(jwt.encode(claims(), SECRET * 2, algorithm="HS512")) == "bad_token"
    assert refusal(jwt.encode(claims(), None, algorithm="none")) == "bad_token"
    assert refusal("not.a.jwt") == "bad_token"
    assert refusal(hs256(sub="someone")) == "bad_subject"
    assert refusal(hs256(exp=None)) == "bad_token"
