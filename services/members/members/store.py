"""All SQL of the members service. Raises members' errors, never psycopg's."""
import psycopg

from members import errors

INSERT_SHOP = """
INSERT INTO shops (shop_id, name, timezone) VALUES (%(shop_id)s, %(name)s, %(timezone)s)
RETURNING shop_id, name, timezone, status, created_at
"""
GET_SHOP = "SELECT shop_id, name, timezone, status, created_at FROM shops WHERE shop_id = %(shop_id)s"
INSERT_BRANCH = """
INSERT INTO branches (branch_id, shop_id, name) VALUES (%(branch_id)s, %(shop_id)s, %(name)s)
RETURNING branch_id, shop_id, name, created_at
"""
GET_BRANCH = """
SELECT branch_id, shop_id, name, created_at FROM branches
WHERE shop_id = %(shop_id)s AND branch_id = %(branch_id)s
"""
INSERT_STAFF = """
INSERT INTO staff (staff_id, shop_id, branch_id, name) VALUES (%(staff_id)s, %(shop_id)s, %(branch_id)s, %(name)s)
RETURNING staff_id, shop_id, branch_id, name, created_at
"""
INSERT_KEY = """
INSERT INTO api_keys (key_id, key_hash, prefix, role, shop_id, branch_id, staff_id, label)
VALUES (%(key_id)s, %(key_hash)s, %(prefix)s, %(role)s, %(shop_id)s, %(branch_id)s, %(staff_id)s, %(label)s)
RETURNING key_id, prefix, role, shop_id, branch_id, staff_id, label, created_at
"""
AUTHENTICATE = """
SELECT k.key_id, k.role, k.shop_id, k.branch_id, k.staff_id
FROM api_keys k LEFT JOIN shops s ON s.shop_id = k.shop_id
WHERE k.key_hash = %(key_hash)s AND k.revoked_at IS NULL
  AND (k.shop_id IS NULL OR s.status = 'active')
"""
MEMBER_BY_PHONE = """
SELECT m.member_id, m.shop_id, m.phone, m.status, m.name, m.line_user_id, t.name AS tier, m.lifetime_points,
       m.points_balance, m.sales_count, m.spend_satang, m.last_sale_at, m.created_at
FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.phone = %(phone)s
"""
# One statement for a batch of members: create the phone-only member of a new
# phone, add sales to the running totals, and move the balance only forward
# in the points service's entry order. (xmax = 0) tells a fresh insert from an
# update. The caller sums each phone's events first: a statement may touch a
# row once.
RECORD_EARNS = """
INSERT INTO members AS m (member_id, shop_id, phone, lifetime_points, points_balance, balance_seq,
                          sales_count, spend_satang, last_sale_at)
SELECT * FROM unnest(%(member_ids)s::uuid[], %(shop_ids)s::uuid[], %(phones)s::text[], %(points)s::bigint[],
                     %(balances)s::bigint[], %(seqs)s::bigint[], %(sales)s::bigint[], %(spends)s::bigint[],
                     %(sale_ats)s::timestamptz[])
ON CONFLICT (shop_id, phone) DO UPDATE SET
    lifetime_points = m.lifetime_points + EXCLUDED.lifetime_points,
    points_balance  = CASE WHEN EXCLUDED.balance_seq > m.balance_seq
                           THEN EXCLUDED.points_balance ELSE m.points_balance END,
    balance_seq     = greatest(m.balance_seq, EXCLUDED.balance_seq),
    sales_count     = m.sales_count + EXCLUDED.sales_count,
    spend_satang    = m.spend_satang + EXCLUDED.spend_satang,
    last_sale_at    = greatest(m.last_sale_at, EXCLUDED.last_sale_at),
    updated_at      = now()
RETURNING member_id, shop_id, phone, status, created_at, (xmax = 0) AS created
"""


def insert_shop(conn, **shop):
    return conn.execute(INSERT_SHOP, shop).fetchone()


def get_shop(conn, shop_id):
    shop = conn.execute(GET_SHOP, {"shop_id": shop_id}).fetchone()
    if shop is None:
        raise errors.shop_not_found(shop_id)
    return shop


def insert_branch(conn, **branch):
    try:
        with conn.transaction():
            return conn.execute(INSERT_BRANCH, branch).fetchone()
    except psycopg.errors.UniqueViolation:
        raise errors.branch_name_taken(branch["name"]) from None


def get_branch(conn, shop_id, branch_id):
    branch = conn.execute(GET_BRANCH, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()
    if branch is None:
        raise errors.branch_not_found(branch_id)
    return branch


def insert_staff(conn, **staff):
    return conn.execute(INSERT_STAFF, staff).fetchone()


def insert_api_key(conn, **key):
    return conn.execute(INSERT_KEY, key).fetchone()


def authenticate(conn, key_hash):
    principal = conn.execute(AUTHENTICATE, {"key_hash": key_hash}).fetchone()
    if principal is None:
        raise errors.invalid_api_key()
    return principal


def member_by_phone(conn, shop_id, phone):
    member = conn.execute(MEMBER_BY_PHONE, {"shop_id": shop_id, "phone": phone}).fetchone()
    if member is None:
        raise errors.member_not_found(phone)
    return member


def record_earns(conn, rows):
    """rows: dicts of member_id, shop_id, phone, points, balance, seq, sales, spend, sale_at (one per phone)."""
    def column(name):
        return [row[name] for row in rows]

    return conn.execute(RECORD_EARNS, {
        "member_ids": column("member_id"), "shop_ids": column("shop_id"), "phones": column("phone"),
        "points": column("points"), "balances": column("balance"), "seqs": column("seq"),
        "sales": column("sales"), "spends": column("spend"), "sale_ats": column("sale_at"),
    }).fetchall()
