"""Rules of member sign-in that need no I/O: one-time codes, member tokens, LINE ID tokens.

A one-time code is 6 digits from `secrets`, valid 5 minutes, 5 tries; only its
HMAC (keyed with the deployment's optional pepper and bound to its challenge id)
is stored. A member token is opaque (`mt_` + 32 random bytes); only its SHA-256
is stored. A LINE ID token is verified as LINE documents it: HS256 with the
channel secret (LINE Login on the web) or ES256 with a key of LINE's JWKS (LIFF
and the apps); issuer https://access.line.me, audience the shop's channel id,
not expired, and the nonce when the client sent one.
"""
import dataclasses
import datetime
import hashlib
import hmac
import re
import secrets

import jwt

CODE_DIGITS = 6
CODE_MINUTES = 5
CODE_TRIES = 5
TOKEN_PREFIX = "mt_"
TOKEN_DAYS = 30
LINE_ISSUER = "https://access.line.me"
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}\Z")
DEFAULT_LIMITS = {"per_phone": 5, "per_ip": 20, "window_minutes": 60}


# --- one-time codes ---------------------------------------------------------------

def new_code(randbelow=secrets.randbelow):
    """Six digits, leading zeros kept."""
    return f"{randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(code, challenge_id, pepper=b""):
    """HMAC-SHA256 of the code bound to its challenge: a stored hash is worth nothing for
    another challenge, and nothing offline without the pepper (when one is configured)."""
    return hmac.new(pepper or b"otp", f"{challenge_id}:{code}".encode(), hashlib.sha256).digest()


def code_matches(code, challenge_id, stored_hash, pepper=b""):
    return hmac.compare_digest(hash_code(code, challenge_id, pepper), bytes(stored_hash))


@dataclasses.dataclass(frozen=True)
class Attempt:
    """The outcome of one try of a code: ok, or why not, and the challenge's next state."""

    outcome: str  # ok | wrong_code | expired | dead | used
    status: str  # the challenge's status after this try
    attempts: int
    tries_left: int


def try_code(challenge, code, now, pepper=b""):
    """Judge a try against a challenge row (status, attempts, expires_at, code_hash). A wrong
    code spends a try; the fifth wrong one kills the challenge. An expired, dead or used
    challenge spends nothing."""
    status, attempts = challenge["status"], challenge["attempts"]
    if status == "used":
        return Attempt("used", status, attempts, 0)
    if status == "dead" or attempts >= CODE_TRIES:
        return Attempt("dead", "dead", attempts, 0)
    if now >= challenge["expires_at"]:
        return Attempt("expired", status, attempts, CODE_TRIES - attempts)
    if code_matches(code, challenge["challenge_id"], challenge["code_hash"], pepper):
        return Attempt("ok", "used", attempts + 1, 0)
    attempts += 1
    if attempts >= CODE_TRIES:
        return Attempt("dead", "dead", attempts, 0)
    return Attempt("wrong_code", "live", attempts, CODE_TRIES - attempts)


def code_expiry(now):
    return now + datetime.timedelta(minutes=CODE_MINUTES)


def over_limit(sent_to_phone, sent_from_ip, limits):
    """Which rate limit a new code would break ('phone', 'ip'), or None."""
    if sent_to_phone >= limits["per_phone"]:
        return "phone"
    if sent_from_ip is not None and sent_from_ip >= limits["per_ip"]:
        return "ip"
    return None


# --- member tokens ------------------------------------------------------------------

def new_token():
    """(token shown once, the hash stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_expiry(now, days=TOKEN_DAYS):
    return now + datetime.timedelta(days=days)


# --- LINE ID tokens -------------------------------------------------------------------

class LineTokenError(ValueError):
    """Why a LINE ID token is refused: `reason` is one of bad_token, bad_signature,
    wrong_issuer, wrong_audience, expired, wrong_nonce, bad_subject."""

    def __init__(self, reason, detail=""):
        self.reason = reason
        super().__init__(detail or reason)


def line_token_algorithm(id_token):
    """HS256 or ES256 (and the key id for ES256), read from the unverified header."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise LineTokenError("bad_token", "not a JWT") from None
    alg = header.get("alg")
    if alg not in ("HS256", "ES256"):
        raise LineTokenError("bad_token", f"algorithm {alg!r} is not one LINE uses")
    return alg, header.get("kid")


def verify_line_token(id_token, *, channel_id, channel_secret, es256_key, now, nonce=None):
    """The verified claims of a LINE ID token, or LineTokenError. `es256_key(kid)` gives the
    public key of LINE's JWKS for that key id (only called for ES256 tokens)."""
    alg, kid = line_token_algorithm(id_token)
    key = channel_secret if alg == "HS256" else es256_key(kid)
    if key is None:
        raise LineTokenError("bad_signature", "no key to verify this token")
    try:
        claims = jwt.decode(id_token, key=key, algorithms=[alg],
                            options={"verify_exp": False, "verify_iat": False, "verify_aud": False,
                                     "verify_iss": False, "verify_nbf": False, "require": ["exp", "sub"]})
    except jwt.InvalidSignatureError:
        raise LineTokenError("bad_signature", "the signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise LineTokenError("bad_token", str(exc)) from None
    # Checked here rather than by PyJWT so that `now` is the caller's (tests move it).
    if claims.get("iss") != LINE_ISSUER:
        raise LineTokenError("wrong_issuer", f"issuer must be {LINE_ISSUER}")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if str(channel_id) not in [str(a) for a in audiences]:
        raise LineTokenError("wrong_audience", "the token was issued for another channel")
    try:
        expires = datetime.datetime.fromtimestamp(int(claims["exp"]), datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        raise LineTokenError("bad_token", "exp is not a time") from None
    if now >= expires:
        raise LineTokenError("expired", "the token has expired")
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise LineTokenError("wrong_nonce", "the nonce does not match")
    if not LINE_USER_ID.match(str(claims["sub"])):
        raise LineTokenError("bad_subject", "sub is not a LINE user id")
    return claims


NONCE_MINUTES = 10


def new_nonce():
    """A nonce for the LINE Login authorization request (the shop's page asks for one first)."""
    return secrets.token_urlsafe(24)


def line_token_hash(id_token):
    return hashlib.sha256(id_token.encode("utf-8")).digest()


def line_token_expiry(claims):
    return datetime.datetime.fromtimestamp(int(claims["exp"]), datetime.UTC)
