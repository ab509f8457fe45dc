"""Accounts, entries and lots: the SQL under `points.ledger`."""
from points import errors

OPEN_ACCOUNT = "INSERT INTO accounts (shop_id, phone) VALUES (%(shop_id)s, %(phone)s) ON CONFLICT DO NOTHING"
LOCK_ACCOUNT = """
SELECT shop_id, phone, balance, entry_seq FROM accounts
WHERE shop_id = %(shop_id)s AND phone = %(phone)s FOR UPDATE
"""
OPEN_LOTS = """
SELECT lot_id, remaining, expires_at FROM lots
WHERE shop_id = %(shop_id)s AND phone = %(phone)s AND remaining > 0
"""
ENTRY_COLUMNS = """shop_id, phone, kind, points, branch_id, sale_id, source, actor_type, actor_id,
                   rule_version, reason, ref, ref_entry_id, balance_after, account_seq"""
ENTRY_VALUES = """%(shop_id)s, %(phone)s, %(kind)s, %(points)s, %(branch_id)s, %(sale_id)s, %(source)s,
                  %(actor_type)s, %(actor_id)s, %(rule_version)s, %(reason)s, %(ref)s, %(ref_entry_id)s, 0, 0"""
# A credit: the entry (its trigger moves the balance) and its lot, in one round trip.
CREDIT = f"""
WITH entry AS (
    INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({ENTRY_VALUES})
    RETURNING entry_id, shop_id, phone, points, balance_after, account_seq, created_at
)
INSERT INTO lots (shop_id, phone, entry_id, points, remaining, expires_at)
SELECT shop_id, phone, entry_id, points, points, %(expires_at)s FROM entry
RETURNING entry_id, lot_id, expires_at,
          (SELECT balance_after FROM entry) AS balance_after,
          (SELECT account_seq FROM entry) AS account_seq,
          (SELECT created_at FROM entry) AS created_at
"""
# An entry without a lot of its own (a debit, or points given back to their lots).
INSERT_ENTRY = f"""
INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({ENTRY_VALUES})
RETURNING entry_id, balance_after, account_seq, created_at
"""
TAKE_FROM_LOTS = """
WITH plan AS (
    SELECT * FROM unnest(%(lot_ids)s::bigint[], %(points)s::bigint[]) AS p (lot_id, points)
), moved AS (
    INSERT INTO lot_moves (entry_id, lot_id, points) SELECT %(entry_id)s, lot_id, -points FROM plan
)
UPDATE lots SET remaining = lots.remaining - plan.points FROM plan WHERE lots.lot_id = plan.lot_id
"""
GIVE_BACK_TO_LOTS = """
WITH taken AS (
    SELECT lot_id, -points AS points FROM lot_moves WHERE entry_id = %(from_entry_id)s
), moved AS (
    INSERT INTO lot_moves (entry_id, lot_id, points) SELECT %(entry_id)s, lot_id, points FROM taken
)
UPDATE lots SET remaining = lots.remaining + taken.points FROM taken WHERE lots.lot_id = taken.lot_id
"""
ENTRY = """
SELECT entry_id, shop_id, phone, kind, points, branch_id, sale_id, source, ref, ref_entry_id, created_at
FROM entries WHERE entry_id = %(entry_id)s AND shop_id = %(shop_id)s
"""
LOT_OF_ENTRY = "SELECT lot_id, remaining, expires_at FROM lots WHERE entry_id = %(entry_id)s"


def open_account(conn, shop_id, phone):
    conn.execute(OPEN_ACCOUNT, {"shop_id": shop_id, "phone": phone})


def lock_account(conn, shop_id, phone):
    """The account, locked for this transaction (every writer locks it before its lots)."""
    account = conn.execute(LOCK_ACCOUNT, {"shop_id": shop_id, "phone": phone}).fetchone()
    if account is None:
        raise errors.account_not_found(phone)
    return account


def open_lots(conn, shop_id, phone):
    return [(r["lot_id"], r["remaining"], r["expires_at"])
            for r in conn.execute(OPEN_LOTS, {"shop_id": shop_id, "phone": phone})]


def _entry_params(entry):
    params = dict.fromkeys(("branch_id", "sale_id", "rule_version", "reason", "ref", "ref_entry_id", "actor_id"))
    params.update(entry)
    return params


def credit(conn, expires_at, **entry):
    return conn.execute(CREDIT, {**_entry_params(entry), "expires_at": expires_at}).fetchone()


def debit(conn, plan, **entry):
    """Insert a negative entry and take `plan` [(lot_id, points)] from the lots."""
    row = conn.execute(INSERT_ENTRY, _entry_params(entry)).fetchone()
    if plan:
        conn.execute(TAKE_FROM_LOTS, {"entry_id": row["entry_id"], "lot_ids": [lot for lot, _ in plan],
                                      "points": [points for _, points in plan]})
    return row


def give_back(conn, from_entry_id, **entry):
    """Insert a positive entry that returns to their lots the points `from_entry_id` took."""
    row = conn.execute(INSERT_ENTRY, _entry_params(entry)).fetchone()
    conn.execute(GIVE_BACK_TO_LOTS, {"entry_id": row["entry_id"], "from_entry_id": from_entry_id})
    return row


def entry(conn, shop_id, entry_id):
    found = conn.execute(ENTRY, {"shop_id": shop_id, "entry_id": entry_id}).fetchone()
    if found is None:
        raise errors.entry_not_found(entry_id)
    return found


def lot_of_entry(conn, entry_id):
    return conn.execute(LOT_OF_ENTRY, {"entry_id": entry_id}).fetchone()


# --- spends (for rewards) -------------------------------------------------------

SPEND = """
SELECT s.shop_id, s.spend_key, s.phone, s.points, s.entry_id, s.fingerprint, s.reason, s.refund_entry_id,
       s.created_at, e.balance_after, e.account_seq
FROM spends s JOIN entries e ON e.entry_id = s.entry_id
WHERE s.shop_id = %(shop_id)s AND s.spend_key = %(spend_key)s
"""
MARK_SPEND_REFUNDED = """
UPDATE spends SET refund_entry_id = %(refund_entry_id)s
WHERE shop_id = %(shop_id)s AND spend_key = %(spend_key)s AND refund_entry_id IS NULL
"""
REFUND_ENTRY = "SELECT entry_id, balance_after, account_seq FROM entries WHERE entry_id = %(entry_id)s"


LOCK_SPEND_KEY = "SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0))"
CANCEL = """
INSERT INTO spend_cancellations (shop_id, spend_key, reason) VALUES (%(shop_id)s, %(spend_key)s, %(reason)s)
ON CONFLICT (shop_id, spend_key) DO NOTHING
"""


def lock_spend_key(conn, shop_id, spend_key):
    """Serialise a spend and a cancellation of the same key (taken before the account lock)."""
    conn.execute(LOCK_SPEND_KEY, {"lock": f"spend:{shop_id}:{spend_key}"})


def cancel_spend(conn, shop_id, spend_key, reason):
    conn.execute(CANCEL, {"shop_id": shop_id, "spend_key": spend_key, "reason": reason})


def event_from(source, entry_id, balance, seq):
    """The INSERT of a ledger event's outbox row inside a statement that writes the entry: the
    row's parameters are `outbox.row`'s, its data completed from `source` (a CTE) with the
    entry id, the balance and its position, known only once the entry is written."""
    return f"""INSERT INTO outbox (event_id, exchange, routing_key, envelope, headers)
    SELECT %(event_id)s::uuid, %(exchange)s::text, %(routing_key)s::text,
           jsonb_set(%(envelope)s::jsonb, '{{data}}', (%(envelope)s::jsonb -> 'data') || jsonb_build_object(
               'entry_id', {entry_id}, 'balance', {balance}, 'balance_seq', {seq})),
           %(headers)s::jsonb
    FROM {source}"""


# A spend's writes in one statement: its entry (the trigger moves the balance), the points
# taken from the planned lots, the spend row and its points.redeemed outbox row (entry id,
# balance and position filled in from the entry).
SPEND_WRITE = f"""
WITH entry AS (
    INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({ENTRY_VALUES})
    RETURNING entry_id, balance_after, account_seq, created_at
), plan AS (
    SELECT * FROM unnest(%(lot_ids)s::bigint[], %(lot_points)s::bigint[]) AS p (lot_id, points)
), moved AS (
    INSERT INTO lot_moves (entry_id, lot_id, points) SELECT entry.entry_id, plan.lot_id, -plan.points FROM plan, entry
), taken AS (
    UPDATE lots SET remaining = lots.remaining - plan.points FROM plan WHERE lots.lot_id = plan.lot_id
), spend AS (
    INSERT INTO spends (shop_id, spend_key, phone, points, entry_id, fingerprint, reason)
    SELECT %(shop_id)s::uuid, %(spend_key)s::text, %(phone)s::text, %(spend_points)s::bigint, entry.entry_id,
           %(fingerprint)s::text, %(reason)s::text FROM entry
), event AS (
    {event_from("entry", "entry_id", "balance_after", "account_seq")}
)
SELECT entry_id, balance_after, account_seq, created_at FROM entry
"""


def spend_write(conn, plan, event, *, spend_key, fingerprint, **entry):
    """Write a spend of -entry['points'] planned as `plan` [(lot_id, points)], with its event
    (`event`: an outbox row's parameters). Returns the entry."""
    params = _entry_params(entry)
    return conn.execute(SPEND_WRITE, {
        **params, **event, "spend_key": spend_key, "fingerprint": fingerprint, "spend_points": -entry["points"],
        "lot_ids": [lot for lot, _ in plan], "lot_points": [points for _, points in plan]}).fetchone()


# The spend with this key (if any) and whether the key was cancelled, in one round trip.
SPEND_STATE = f"""
SELECT x.*, EXISTS (SELECT FROM spend_cancellations
                    WHERE shop_id = %(shop_id)s AND spend_key = %(spend_key)s) AS key_cancelled
FROM (SELECT 1) AS one LEFT JOIN LATERAL ({SPEND}) AS x ON true
"""


def spend_state(conn, shop_id, spend_key):
    """(the spend with this key or None, the key was cancelled)."""
    row = conn.execute(SPEND_STATE, {"shop_id": shop_id, "spend_key": spend_key}).fetchone()
    return (row if row["spend_key"] is not None else None), row["key_cancelled"]


def spend(conn, shop_id, spend_key, lock=False):
    return conn.execute(SPEND + (" FOR UPDATE OF s" if lock else ""),
                        {"shop_id": shop_id, "spend_key": spend_key}).fetchone()


def mark_spend_refunded(conn, shop_id, spend_key, refund_entry_id):
    conn.execute(MARK_SPEND_REFUNDED, {"shop_id": shop_id, "spend_key": spend_key,
                                       "refund_entry_id": refund_entry_id})


def entry_result(conn, entry_id):
    return conn.execute(REFUND_ENTRY, {"entry_id": entry_id}).fetchone()


# --- voids ------------------------------------------------------------------------

VOID_COLUMNS = """v.void_id, v.shop_id, v.cause, v.target_entry_id, v.entry_id, v.requested, v.recovered,
                  v.unrecovered, v.balance_after, v.reason, v.fingerprint, v.created_at, t.kind AS target_kind,
                  t.phone, t.sale_id"""
VOID_BY_KEY = f"""
SELECT {VOID_COLUMNS} FROM voids v JOIN entries t ON t.entry_id = v.target_entry_id
WHERE v.shop_id = %(shop_id)s AND v.idempotency_key = %(idempotency_key)s
"""
FULL_VOID_OF = "SELECT void_id FROM voids WHERE target_entry_id = %(entry_id)s AND cause = 'void'"
INSERT_VOID = """
INSERT INTO voids (void_id, shop_id, cause, target_entry_id, entry_id, requested, recovered, unrecovered,
                   balance_after, reason, actor_type, actor_id, idempotency_key, fingerprint)
VALUES (%(void_id)s, %(shop_id)s, %(cause)s, %(target_entry_id)s, %(entry_id)s, %(requested)s, %(recovered)s,
        %(unrecovered)s, %(balance_after)s, %(reason)s, %(actor_type)s, %(actor_id)s, %(idempotency_key)s,
        %(fingerprint)s)
RETURNING void_id, created_at
"""


def void_by_key(conn, shop_id, idempotency_key):
    return conn.execute(VOID_BY_KEY, {"shop_id": shop_id, "idempotency_key": idempotency_key}).fetchone()


def fully_voided(conn, entry_id):
    return conn.execute(FULL_VOID_OF, {"entry_id": entry_id}).fetchone() is not None


def insert_void(conn, **void_row):
    return conn.execute(INSERT_VOID, void_row).fetchone()
