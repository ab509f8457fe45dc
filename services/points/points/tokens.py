"""What a QR code carries: a token signed with the deployment's secret (HMAC-SHA256).

One-time: `Q1.<qr id>.<expiry, unix seconds>.<signature>`, bound to the shop,
the code and its expiry. Printed: `P1.<branch id>.<generation>.<signature>`,
bound to the shop, the branch and the print's generation (printing anew makes
old prints worthless). Changing a character breaks the signature. No I/O.
"""
import base64
import datetime
import hashlib
import hmac
import uuid


def _signature(secret, message):
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def one_time(secret, shop_id, qr_id, expires_at):
    body = f"Q1.{uuid.UUID(str(qr_id)).hex}.{int(expires_at.timestamp())}"
    return f"{body}.{_signature(secret, f'{shop_id}|{body}')}"


def read_one_time(secret, shop_id, token):
    """(qr_id, expires_at) of a one-time token of this shop; ValueError if it is not one."""
    body, signature = _split(token, "Q1")
    if not hmac.compare_digest(signature, _signature(secret, f"{shop_id}|{body}")):
        raise ValueError("bad signature")
    _, qr_hex, expires = body.split(".")
    return uuid.UUID(hex=qr_hex), datetime.datetime.fromtimestamp(int(expires), datetime.UTC)


def printed(secret, shop_id, branch_id, generation):
    body = f"P1.{uuid.UUID(str(branch_id)).hex}.{int(generation)}"
    return f"{body}.{_signature(secret, f'{shop_id}|{body}')}"


def read_printed(secret, shop_id, token):
    """(branch_id, generation) of a printed token of this shop; ValueError if it is not one."""
    body, signature = _split(token, "P1")
    if not hmac.compare_digest(signature, _signature(secret, f"{shop_id}|{body}")):
        raise ValueError("bad signature")
    _, branch_hex, generation = body.split(".")
    return uuid.UUID(hex=branch_hex), int(generation)


def _split(token, kind):
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != kind:
        raise ValueError("not a token of this kind")
    return ".".join(parts[:3]), parts[3]
