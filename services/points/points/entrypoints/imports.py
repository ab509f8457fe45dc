"""Bulk credits: many members' points in one call (a member import), set-based inside.

The same ledger path as `credit` (an `adjust` entry and its lot per credit, the
entry's trigger moving the balance under the account's row lock, one
points.adjusted event per credit), written as a few statements per batch
instead of a few per credit. Each credit is idempotent on its own key, in the
same key space as `credit` (`credit:<shop_id>` in the chassis idempotency
table): a batch sent again credits only what it had not credited, and answers
the rest from the stored results.

The SQL lives here rather than in `points/store/` so that this area stays in
one module while the import work lands (the store package is shared).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from nameko.rpc import rpc
from psycopg.types.json import Jsonb

from chassis import idempotency
from chassis.errors import load
from chassis.fields import Phone
from points import contracts, directory, domain, errors, event_contracts, ledger, store

MAX_CREDITS = 1000

CLAIM_KEYS = """
INSERT INTO idempotency_keys (scope, key, fingerprint, response)
SELECT %(scope)s, k.key, k.fingerprint, 'null'::jsonb
FROM unnest(%(keys)s::text[], %(fingerprints)s::text[]) AS k (key, fingerprint)
ORDER BY k.key
ON CONFLICT (scope, key) DO NOTHING
RETURNING key
"""
READ_KEYS = """
SELECT key, fingerprint, response FROM idempotency_keys WHERE scope = %(scope)s AND key = ANY(%(keys)s)
"""
OPEN_ACCOUNTS = """
INSERT INTO accounts (shop_id, phone)
SELECT %(shop_id)s, phone FROM unnest(%(phones)s::text[]) AS p (phone) ORDER BY phone
ON CONFLICT DO NOTHING
"""
# Every writer locks the account before its lots; in phone order, so two batches never deadlock.
LOCK_ACCOUNTS = """
SELECT phone FROM accounts WHERE shop_id = %(shop_id)s AND phone = ANY(%(phones)s) ORDER BY phone FOR UPDATE
"""
# One entry per credit (its trigger moves the balance) and its lot, in one statement.
CREDIT_MANY = """
WITH input AS (
    SELECT * FROM unnest(%(phones)s::text[], %(points)s::bigint[], %(refs)s::text[]) WITH ORDINALITY
        AS i (phone, points, ref, ord)
), made AS (
    INSERT INTO entries (shop_id, phone, kind, points, branch_id, source, actor_type, actor_id, reason, ref,
                         balance_after, account_seq)
    SELECT %(shop_id)s, phone, 'adjust', points, %(branch_id)s, %(source)s, %(actor_type)s, %(actor_id)s,
           %(reason)s, ref, 0, 0
    FROM input ORDER BY ord
    RETURNING entry_id, phone, points, ref, balance_after, account_seq
), lotted AS (
    INSERT INTO lots (shop_id, phone, entry_id, points, remaining, expires_at)
    SELECT %(shop_id)s, phone, entry_id, points, points, %(expires_at)s FROM made
)
SELECT entry_id, phone, points, ref, balance_after, account_seq FROM made ORDER BY entry_id
"""
STORE_RESULTS = """
UPDATE idempotency_keys k SET response = r.response
FROM unnest(%(keys)s::text[], %(responses)s::jsonb[]) AS r (key, response)
WHERE k.scope = %(scope)s AND k.key = r.key
"""


class OneCredit(Schema):
    key = fields.String(required=True, validate=contracts.KEY)
    phone = Phone(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=contracts.MAX_POINTS))


class CreditMany(Schema):
    shop_id = fields.UUID(required=True)
    branch_id = fields.UUID(load_default=None, allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(contracts.CREDIT_SOURCES))
    reason = fields.String(required=True, validate=contracts.TEXT)
    actor = fields.Nested(contracts.Actor, required=True)
    credits = fields.List(fields.Nested(OneCredit), required=True,
                          validate=validate.Length(min=1, max=MAX_CREDITS))

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        keys = [credit["key"] for credit in data.get("credits", [])]
        if len(set(keys)) != len(keys):
            raise ValidationError("each credit needs its own key", "credits")


CREDIT_MANY_SCHEMA = CreditMany()


def _fingerprint(cmd, credit):
    return idempotency.fingerprint({"phone": credit["phone"], "points": credit["points"], "source": cmd["source"],
                                    "branch_id": str(cmd["branch_id"])})


def credit_many(conn, cmd, outbox):
    """Credit each of `cmd["credits"]` once. Returns {credited, replayed, points, results}."""
    shop_id, scope = cmd["shop_id"], f"credit:{cmd['shop_id']}"
    tz, settings, _ = store.sales.earn_context(conn, shop_id, cmd["branch_id"], need_rule=False)
    by_key = {credit["key"]: credit for credit in cmd["credits"]}
    prints = {key: _fingerprint(cmd, credit) for key, credit in by_key.items()}
    keys = sorted(by_key)
    claimed = {row["key"] for row in conn.execute(CLAIM_KEYS, {
        "scope": scope, "keys": keys, "fingerprints": [prints[key] for key in keys]})}
    results = {}
    replayed = [key for key in keys if key not in claimed]
    if replayed:
        for row in conn.execute(READ_KEYS, {"scope": scope, "keys": replayed}):
            if row["fingerprint"] != prints[row["key"]]:
                raise errors.idempotency_key_reused()
            results[row["key"]] = {**row["response"], "replayed": True}
    fresh = [credit for credit in cmd["credits"] if credit["key"] in claimed]
    if fresh:
        results.update(_credit(conn, cmd, fresh, tz, settings, scope, outbox))
    return {"credited": len(fresh), "replayed": len(replayed), "points": sum(c["points"] for c in fresh),
            "results": [results[credit["key"]] | {"key": credit["key"]} for credit in cmd["credits"]]}


def _credit(conn, cmd, fresh, tz, settings, scope, outbox):
    shop_id, actor = cmd["shop_id"], cmd["actor"]
    expires_at = domain.lot_expiry(ledger.now(), settings.expiry, tz)
    phones = sorted({credit["phone"] for credit in fresh})
    conn.execute(OPEN_ACCOUNTS, {"shop_id": shop_id, "phones": phones})
    conn.execute(LOCK_ACCOUNTS, {"shop_id": shop_id, "phones": phones})
    made = conn.execute(CREDIT_MANY, {
        "shop_id": shop_id, "branch_id": cmd["branch_id"], "source": cmd["source"], "actor_type": actor["type"],
        "actor_id": actor.get("id"), "reason": cmd["reason"], "expires_at": expires_at,
        "phones": [c["phone"] for c in fresh], "points": [c["points"] for c in fresh],
        "refs": [c["key"] for c in fresh]}).fetchall()
    answers = {row["ref"]: {"entry_id": row["entry_id"], "phone": row["phone"], "points": row["points"],
                            "balance": row["balance_after"],
                            "expires_at": expires_at.isoformat() if expires_at else None} for row in made}
    conn.execute(STORE_RESULTS, {"scope": scope, "keys": list(answers),
                                 "responses": [Jsonb(answer) for answer in answers.values()]})
    outbox.add_many(conn, "points.adjusted", 1, ((shop_id, event_contracts.POINTS_ADJUSTED.dump({
        "entry_id": row["entry_id"], "phone": row["phone"], "points": row["points"],
        "balance": row["balance_after"], "balance_seq": row["account_seq"], "kind": "adjust",
        "source": cmd["source"], "branch_id": cmd["branch_id"], "actor": actor, "reason": cmd["reason"],
        "expires_at": expires_at})) for row in made))
    return {key: {**answer, "replayed": False} for key, answer in answers.items()}


class Imports:
    @rpc(expected_exceptions=errors.EXPECTED)
    def credit_many(self, request):
        """Credit up to 1,000 (phone, points) at once, each idempotent on its own `key` (a member
        import sends `import:<file sha256>:<row>`): a key seen before is answered from its first
        result and credits nothing. Same ledger rules as `credit`: an adjust entry and a lot per
        credit, expiring by the shop's policy. Errors: invalid_input (naming the credit),
        idempotency_key_reused (a key sent before with another phone or points), shop_not_found /
        branch_not_found (from members). Events: points.adjusted, one per new credit."""
        cmd = load(CREDIT_MANY_SCHEMA, request)
        return directory.run(self.db, self.members, lambda conn: credit_many(conn, cmd, self.outbox))
