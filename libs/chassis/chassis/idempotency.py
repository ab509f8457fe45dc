"""Idempotency keys for value-creating calls, stored in the business transaction.

The first call with a key runs and its response is stored with the request's
fingerprint in the same transaction as its effect. A replay (same key, same
fingerprint) returns the stored response without running again; the same key
with another request is refused. Two concurrent calls with one key serialise
on the key's row: the second waits for the first to commit and then replays.
"""
import hashlib
import json

from psycopg.types.json import Jsonb

from chassis import errors

CLAIM = """
INSERT INTO idempotency_keys (scope, key, fingerprint, response)
VALUES (%(scope)s, %(key)s, %(fingerprint)s, 'null'::jsonb)
ON CONFLICT (scope, key) DO NOTHING
RETURNING key
"""
STORE = "UPDATE idempotency_keys SET response = %(response)s WHERE scope = %(scope)s AND key = %(key)s"
READ = "SELECT fingerprint, response FROM idempotency_keys WHERE scope = %(scope)s AND key = %(key)s"
PURGE = "DELETE FROM idempotency_keys WHERE created_at < %(before)s"

MAX_KEY_LENGTH = 200


def fingerprint(payload, ignore=("idempotency_key",)):
    """sha256 of the canonical JSON of `payload` without the key itself."""
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in ignore}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def request_fingerprint(payload):
    """The fingerprint the edge computed over the whole HTTP request, else this payload's."""
    given = payload.get("fingerprint") if isinstance(payload, dict) else None
    return given or fingerprint(payload, ignore=("idempotency_key", "fingerprint"))


def run_once(conn, scope, key, request_fingerprint, produce):
    """Return (response, replayed). `produce()` runs only for the first call."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise errors.InvalidInput(
            "invalid_idempotency_key",
            f"idempotency key is required, at most {MAX_KEY_LENGTH} characters",
            {"idempotency_key": ["required, 1-200 characters"]},
        )
    params = {"scope": scope, "key": key, "fingerprint": request_fingerprint}
    if conn.execute(CLAIM, params).fetchone():
        response = produce()
        conn.execute(STORE, {**params, "response": Jsonb(response)})
        return response, False
    stored = conn.execute(READ, params).fetchone()
    if stored["fingerprint"] != request_fingerprint:
        raise errors.Conflict(
            "idempotency_key_reused",
            "this idempotency key was already used for a different request",
            {"idempotency_key": ["already used with a different request body"]},
        )
    return stored["response"], True


def purge(conn, before):
    """Forget keys created before `before` (a retention job; replays after that run anew)."""
    return conn.execute(PURGE, {"before": before}).rowcount
