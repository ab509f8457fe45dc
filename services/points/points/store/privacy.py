"""SQL of personal data (PDPA): a member's records, erasure (re-keying an account to the
member's pseudonym) and the purge of a cancelled shop, account chunk by account chunk."""
from psycopg import sql

_ACCOUNT = "shop_id = %(shop_id)s AND phone = %(phone)s"
# label -> query returning one JSON record per row, for one account
MEMBER_RECORDS = {
    "account": f"SELECT to_jsonb(a) AS record FROM accounts a WHERE {_ACCOUNT}",
    "entries": f"SELECT to_jsonb(e) AS record FROM entries e WHERE {_ACCOUNT} ORDER BY account_seq",
    "lots": f"SELECT to_jsonb(l) AS record FROM lots l WHERE {_ACCOUNT} ORDER BY lot_id",
    "sales": f"SELECT to_jsonb(s) - 'fingerprint' AS record FROM sales s WHERE {_ACCOUNT} ORDER BY created_at",
    "orders": f"SELECT to_jsonb(o) - 'fingerprint' AS record FROM orders o WHERE {_ACCOUNT} ORDER BY created_at",
    "spends": f"SELECT to_jsonb(s) - 'fingerprint' AS record FROM spends s WHERE {_ACCOUNT} ORDER BY created_at",
    "qr_claims": "SELECT to_jsonb(q) - 'fingerprint' AS record FROM qr_codes q WHERE shop_id = %(shop_id)s "
                 "AND claimed_phone = %(phone)s ORDER BY claimed_at",
    "printed_qr_scans": "SELECT to_jsonb(p) AS record FROM printed_qr_scans p JOIN branches b USING (branch_id) "
                        "WHERE b.shop_id = %(shop_id)s AND p.phone = %(phone)s ORDER BY day",
}
# One account of the erased member becomes the pseudonym's; sales, entries, lots, spends and
# orders follow it by the cascade. Its open lots are marked warned: no expiry warning goes to
# a person who no longer exists here.
ERASE = [
    "UPDATE accounts SET phone = %(pseudonym)s WHERE " + _ACCOUNT,
    "UPDATE qr_codes SET claimed_phone = %(pseudonym)s WHERE shop_id = %(shop_id)s AND claimed_phone = %(phone)s",
    "UPDATE printed_qr_scans SET phone = %(pseudonym)s WHERE phone = %(phone)s "
    "AND branch_id IN (SELECT branch_id FROM branches WHERE shop_id = %(shop_id)s)",
    "UPDATE lots SET warned_at = %(at)s WHERE shop_id = %(shop_id)s AND phone = %(pseudonym)s "
    "AND remaining > 0 AND warned_at IS NULL",
]
ACCOUNT_EXISTS = f"SELECT balance FROM accounts WHERE {_ACCOUNT} FOR UPDATE"
ALLOW_PURGE = "SELECT set_config('points.purging_shop', %(shop_id)s::text, true)"
ACCOUNTS_CHUNK = "SELECT array_agg(phone) AS phones FROM (SELECT phone FROM accounts WHERE shop_id = %(shop_id)s " \
                 "ORDER BY phone LIMIT %(limit)s FOR UPDATE) a"
_CHUNK = "shop_id = %(shop_id)s AND phone = ANY(%(phones)s)"
# In the order the foreign keys need: what refers to an entry, lot or sale goes first.
PURGE_ACCOUNTS = [
    f"""DELETE FROM lot_moves WHERE lot_id IN (SELECT lot_id FROM lots WHERE {_CHUNK})
        OR entry_id IN (SELECT entry_id FROM entries WHERE {_CHUNK})""",
    """DELETE FROM order_refunds r USING orders o WHERE r.shop_id = o.shop_id AND r.order_id = o.order_id
        AND o.shop_id = %(shop_id)s AND o.phone = ANY(%(phones)s)""",
    f"DELETE FROM voids WHERE target_entry_id IN (SELECT entry_id FROM entries WHERE {_CHUNK})",
    f"DELETE FROM spends WHERE {_CHUNK}",
    f"DELETE FROM orders WHERE {_CHUNK}",
    f"DELETE FROM lots WHERE {_CHUNK}",
    f"DELETE FROM qr_codes WHERE sale_id IN (SELECT sale_id FROM sales WHERE {_CHUNK})",
    f"DELETE FROM entries WHERE {_CHUNK}",
    f"DELETE FROM sales WHERE {_CHUNK}",
    """DELETE FROM printed_qr_scans WHERE phone = ANY(%(phones)s)
        AND branch_id IN (SELECT branch_id FROM branches WHERE shop_id = %(shop_id)s)""",
    f"DELETE FROM accounts WHERE {_CHUNK}",
]
PURGE_SHOP = [
    "DELETE FROM qr_codes WHERE shop_id = %(shop_id)s",
    "DELETE FROM printed_qr_scans WHERE branch_id IN (SELECT branch_id FROM branches WHERE shop_id = %(shop_id)s)",
    "DELETE FROM printed_qrs WHERE shop_id = %(shop_id)s",
    "DELETE FROM earn_rules WHERE shop_id = %(shop_id)s",
    "DELETE FROM points_settings WHERE shop_id = %(shop_id)s",
    "DELETE FROM spend_cancellations WHERE shop_id = %(shop_id)s",
    "DELETE FROM branches WHERE shop_id = %(shop_id)s",
    "DELETE FROM shops WHERE shop_id = %(shop_id)s",
]


# Tables of other areas keyed by (shop_id, phone) (stamp cards, ...): exported as they are.
OTHER_TABLES = """
SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = current_schema() AND c.column_name = 'phone' AND t.table_type = 'BASE TABLE'
  AND EXISTS (SELECT 1 FROM information_schema.columns s WHERE s.table_schema = c.table_schema
              AND s.table_name = c.table_name AND s.column_name = 'shop_id')
  AND c.table_name <> ALL(%(known)s)
ORDER BY c.table_name
"""
KNOWN_TABLES = ["accounts", "entries", "lots", "sales", "orders", "spends"]
SECRET_COLUMNS = ["fingerprint", "idempotency_key"]


def member_records(conn, shop_id, phone):
    params = {"shop_id": shop_id, "phone": phone, "secrets": SECRET_COLUMNS}
    records = {label: [row["record"] for row in conn.execute(query, params)]
               for label, query in MEMBER_RECORDS.items()}
    other = {}
    for row in conn.execute(OTHER_TABLES, {"known": KNOWN_TABLES}).fetchall():
        query = sql.SQL("SELECT to_jsonb(x) - %(secrets)s::text[] AS record FROM {} x "
                        "WHERE x.shop_id = %(shop_id)s AND x.phone = %(phone)s").format(
            sql.Identifier(row["table_name"]))
        other[row["table_name"]] = [found["record"] for found in conn.execute(query, params)]
    return {**records, "other": other}


def erase(conn, shop_id, phone, pseudonym, at):
    """Re-key the phone's account (and every row naming the phone) to the pseudonym. False if
    the phone has no account here."""
    params = {"shop_id": shop_id, "phone": phone, "pseudonym": pseudonym, "at": at}
    if conn.execute(ACCOUNT_EXISTS, params).fetchone() is None:
        conn.execute(ERASE[1], params)
        conn.execute(ERASE[2], params)
        return False
    for query in ERASE:
        conn.execute(query, params)
    return True


def purge_accounts_chunk(conn, shop_id, limit):
    """Delete up to `limit` accounts of the shop with everything of theirs; the number deleted."""
    conn.execute(ALLOW_PURGE, {"shop_id": shop_id})
    phones = conn.execute(ACCOUNTS_CHUNK, {"shop_id": shop_id, "limit": limit}).fetchone()["phones"]
    if not phones:
        return 0
    params = {"shop_id": shop_id, "phones": phones}
    for query in PURGE_ACCOUNTS:
        conn.execute(query, params)
    return len(phones)


def purge_shop(conn, shop_id):
    """The shop's own rows (after its accounts): codes, rules, settings, branches, the shop."""
    for query in PURGE_SHOP:
        conn.execute(query, {"shop_id": shop_id})
