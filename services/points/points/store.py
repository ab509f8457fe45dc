"""All SQL of the points service. Translates psycopg errors into points' errors."""
from points import domain, errors

# What an earn needs to know about its shop and branch, in one round trip.
# No shop row, or no branch row, means the replica has not seen it yet.
EARN_CONTEXT = """
SELECT s.shop_id, s.timezone, b.branch_id,
       r.version, r.points, r.unit_satang, r.min_spend_satang
FROM shops s
LEFT JOIN branches b ON b.branch_id = %(branch_id)s AND b.shop_id = s.shop_id
LEFT JOIN LATERAL (
    SELECT version, points, unit_satang, min_spend_satang FROM earn_rules
    WHERE shop_id = s.shop_id ORDER BY version DESC LIMIT 1
) r ON true
WHERE s.shop_id = %(shop_id)s
"""
CURRENT_RULE = """
SELECT shop_id, version, points, unit_satang, min_spend_satang, created_at FROM earn_rules
WHERE shop_id = %(shop_id)s ORDER BY version DESC LIMIT 1
"""
SHOP_EXISTS = "SELECT 1 FROM shops WHERE shop_id = %(shop_id)s"
INSERT_RULE = """
INSERT INTO earn_rules (shop_id, version, points, unit_satang, min_spend_satang)
VALUES (%(shop_id)s, %(version)s, %(points)s, %(unit_satang)s, %(min_spend_satang)s)
RETURNING shop_id, version, points, unit_satang, min_spend_satang, created_at
"""
# Locks the rule history of a shop so two concurrent changes get distinct versions.
LOCK_SHOP = "SELECT 1 FROM shops WHERE shop_id = %(shop_id)s FOR UPDATE"
# Opens the phone's account if new and records the sale, in one round trip.
# Inserts nothing if the idempotency key or the receipt (at this branch) was
# used before: the caller then tells a replay from a duplicate receipt.
RECORD_SALE = """
WITH account AS (
    INSERT INTO accounts (shop_id, phone) VALUES (%(shop_id)s, %(phone)s) ON CONFLICT DO NOTHING
)
INSERT INTO sales (sale_id, shop_id, branch_id, phone, amount_satang, receipt_no, points, rule_version,
                   idempotency_key, fingerprint, balance_at_sale)
VALUES (%(sale_id)s, %(shop_id)s, %(branch_id)s, %(phone)s, %(amount_satang)s, %(receipt_no)s,
        %(points)s, %(rule_version)s, %(idempotency_key)s, %(fingerprint)s,
        CASE WHEN %(points)s = 0 THEN coalesce(
            (SELECT balance FROM accounts WHERE shop_id = %(shop_id)s AND phone = %(phone)s), 0) END)
ON CONFLICT DO NOTHING
RETURNING created_at, balance_at_sale
"""
# A sale as its first answer gave it, found by the request's idempotency key.
SALE_BY_KEY = """
SELECT s.sale_id, s.shop_id, s.branch_id, s.phone, s.amount_satang, s.receipt_no, s.points,
       s.rule_version, s.fingerprint, s.created_at, e.entry_id,
       coalesce(e.balance_after, s.balance_at_sale) AS balance
FROM sales s LEFT JOIN entries e ON e.sale_id = s.sale_id AND e.kind = 'earn'
WHERE s.shop_id = %(shop_id)s AND s.idempotency_key = %(idempotency_key)s
"""
INSERT_ENTRY = """
INSERT INTO entries (shop_id, phone, kind, points, branch_id, sale_id, source, actor_type, actor_id,
                     rule_version, reason, balance_after, account_seq)
VALUES (%(shop_id)s, %(phone)s, %(kind)s, %(points)s, %(branch_id)s, %(sale_id)s, %(source)s,
        %(actor_type)s, %(actor_id)s, %(rule_version)s, %(reason)s, 0, 0)
RETURNING entry_id, balance_after, account_seq
"""
BALANCE = "SELECT shop_id, phone, balance, entry_seq FROM accounts WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
UPSERT_SHOP = """
INSERT INTO shops (shop_id, timezone) VALUES (%(shop_id)s, %(timezone)s)
ON CONFLICT (shop_id) DO UPDATE SET timezone = EXCLUDED.timezone, synced_at = now()
"""
UPSERT_BRANCH = """
INSERT INTO branches (branch_id, shop_id) VALUES (%(branch_id)s, %(shop_id)s)
ON CONFLICT (branch_id) DO UPDATE SET synced_at = now()
"""


class Missing(Exception):
    """The replica lacks this shop or branch: fill it from the members service and retry."""

    def __init__(self, shop_id, branch_id=None):
        self.shop_id = shop_id
        self.branch_id = branch_id
        super().__init__(shop_id, branch_id)


def earn_context(conn, shop_id, branch_id):
    """(timezone, current EarnRule) for a sale at this branch; raises Missing or earn_rule_missing."""
    row = conn.execute(EARN_CONTEXT, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()
    if row is None:
        raise Missing(shop_id, branch_id)
    if row["branch_id"] is None:
        raise Missing(shop_id, branch_id)
    if row["version"] is None:
        raise errors.earn_rule_missing(shop_id)
    rule = domain.EarnRule(row["points"], row["unit_satang"], row["min_spend_satang"], row["version"])
    return row["timezone"], rule


def current_rule(conn, shop_id):
    return conn.execute(CURRENT_RULE, {"shop_id": shop_id}).fetchone()


def lock_shop(conn, shop_id):
    if conn.execute(LOCK_SHOP, {"shop_id": shop_id}).fetchone() is None:
        raise Missing(shop_id)


def insert_rule(conn, shop_id, version, rule):
    return conn.execute(INSERT_RULE, {
        "shop_id": shop_id, "version": version, "points": rule.points,
        "unit_satang": rule.unit_satang, "min_spend_satang": rule.min_spend_satang,
    }).fetchone()


def record_sale(conn, **sale):
    """Open the account if new and insert the sale. None if the idempotency key or the
    receipt was used before (see `sale_by_key`)."""
    return conn.execute(RECORD_SALE, sale).fetchone()


def sale_by_key(conn, shop_id, idempotency_key):
    return conn.execute(SALE_BY_KEY, {"shop_id": shop_id, "idempotency_key": idempotency_key}).fetchone()


def insert_entry(conn, **entry):
    return conn.execute(INSERT_ENTRY, entry).fetchone()


def balance(conn, shop_id, phone):
    account = conn.execute(BALANCE, {"shop_id": shop_id, "phone": phone}).fetchone()
    if account is None:
        raise errors.account_not_found(phone)
    return account


def upsert_shop(conn, shop_id, timezone):
    conn.execute(UPSERT_SHOP, {"shop_id": shop_id, "timezone": timezone})


def upsert_branch(conn, branch_id, shop_id):
    conn.execute(UPSERT_BRANCH, {"branch_id": branch_id, "shop_id": shop_id})
