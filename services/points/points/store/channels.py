"""Orders from other systems, one-time QR codes and printed QR codes: their SQL."""
from points import errors

ORDER_COLUMNS = """o.shop_id, o.order_id, o.phone, o.branch_id, o.amount_satang, o.points, o.rule_version,
                   o.entry_id, o.fingerprint, o.refunded_satang, o.voided_points, o.created_at,
                   coalesce(e.balance_after, o.balance_at_order) AS balance"""
INSERT_ORDER = """
INSERT INTO orders (shop_id, order_id, phone, branch_id, amount_satang, points, rule_version, fingerprint,
                    balance_at_order)
VALUES (%(shop_id)s, %(order_id)s, %(phone)s, %(branch_id)s, %(amount_satang)s, %(points)s, %(rule_version)s,
        %(fingerprint)s,
        CASE WHEN %(points)s = 0 THEN (SELECT balance FROM accounts WHERE shop_id = %(shop_id)s
                                       AND phone = %(phone)s) END)
ON CONFLICT (shop_id, order_id) DO NOTHING
RETURNING created_at
"""
ORDER = f"""
SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN entries e ON e.entry_id = o.entry_id
WHERE o.shop_id = %(shop_id)s AND o.order_id = %(order_id)s
"""
SET_ORDER_ENTRY = "UPDATE orders SET entry_id = %(entry_id)s WHERE shop_id = %(shop_id)s AND order_id = %(order_id)s"
REFUND = """
SELECT r.refund_id, r.amount_satang, r.points_voided, r.void_id, r.fingerprint, r.created_at, r.balance_after,
       coalesce(v.recovered, 0) AS recovered, coalesce(v.unrecovered, 0) AS unrecovered
FROM order_refunds r LEFT JOIN voids v ON v.void_id = r.void_id
WHERE r.shop_id = %(shop_id)s AND r.order_id = %(order_id)s AND r.refund_id = %(refund_id)s
"""
INSERT_REFUND = """
WITH refund AS (
    INSERT INTO order_refunds (shop_id, order_id, refund_id, amount_satang, points_voided, void_id, fingerprint,
                               balance_after)
    VALUES (%(shop_id)s, %(order_id)s, %(refund_id)s, %(amount_satang)s, %(points_voided)s, %(void_id)s,
            %(fingerprint)s, %(balance_after)s)
    RETURNING created_at
)
UPDATE orders SET refunded_satang = refunded_satang + %(amount_satang)s,
                  voided_points = voided_points + %(points_voided)s
WHERE shop_id = %(shop_id)s AND order_id = %(order_id)s
RETURNING (SELECT created_at FROM refund) AS created_at
"""
INSERT_QR = """
INSERT INTO qr_codes (qr_id, shop_id, branch_id, amount_satang, receipt_no, created_by_type, created_by_id,
                      idempotency_key, fingerprint, expires_at)
VALUES (%(qr_id)s, %(shop_id)s, %(branch_id)s, %(amount_satang)s, %(receipt_no)s, %(created_by_type)s,
        %(created_by_id)s, %(idempotency_key)s, %(fingerprint)s, %(expires_at)s)
ON CONFLICT (shop_id, idempotency_key) DO NOTHING
RETURNING qr_id
"""
QR_COLUMNS = """qr_id, shop_id, branch_id, amount_satang, receipt_no, fingerprint, created_at, expires_at,
                claimed_at, claimed_phone, sale_id"""
QR_BY_KEY = f"SELECT {QR_COLUMNS} FROM qr_codes WHERE shop_id = %(shop_id)s AND idempotency_key = %(key)s"
QR = f"SELECT {QR_COLUMNS} FROM qr_codes WHERE shop_id = %(shop_id)s AND qr_id = %(qr_id)s"
# Exactly one claim wins: the others wait for its row lock, then find it claimed.
CLAIM_QR = f"""
UPDATE qr_codes SET claimed_at = %(now)s, claimed_phone = %(phone)s
WHERE shop_id = %(shop_id)s AND qr_id = %(qr_id)s AND claimed_at IS NULL AND expires_at > %(now)s
RETURNING {QR_COLUMNS}
"""
SET_QR_SALE = "UPDATE qr_codes SET sale_id = %(sale_id)s WHERE qr_id = %(qr_id)s"
SAVE_PRINTED = """
INSERT INTO printed_qrs (branch_id, shop_id, enabled, points, daily_limit)
VALUES (%(branch_id)s, %(shop_id)s, %(enabled)s, %(points)s, %(daily_limit)s)
ON CONFLICT (branch_id) DO UPDATE SET enabled = EXCLUDED.enabled, points = EXCLUDED.points,
    daily_limit = EXCLUDED.daily_limit,
    generation = printed_qrs.generation + CASE WHEN %(regenerate)s THEN 1 ELSE 0 END, updated_at = now()
RETURNING branch_id, shop_id, enabled, points, daily_limit, generation, updated_at
"""
PRINTED = """
SELECT branch_id, shop_id, enabled, points, daily_limit, generation, updated_at FROM printed_qrs
WHERE shop_id = %(shop_id)s AND branch_id = %(branch_id)s
"""
# One more scan today, unless the member reached the limit (then no row comes back).
COUNT_SCAN = """
INSERT INTO printed_qr_scans AS s (branch_id, phone, day, scans) VALUES (%(branch_id)s, %(phone)s, %(day)s, 1)
ON CONFLICT (branch_id, phone, day) DO UPDATE SET scans = s.scans + 1 WHERE s.scans < %(daily_limit)s
RETURNING scans
"""


def insert_order(conn, **order):
    return conn.execute(INSERT_ORDER, order).fetchone()


def order(conn, shop_id, order_id, lock=False):
    found = conn.execute(ORDER + (" FOR UPDATE OF o" if lock else ""),
                         {"shop_id": shop_id, "order_id": order_id}).fetchone()
    if found is None:
        raise errors.order_not_found(order_id)
    return found


def set_order_entry(conn, shop_id, order_id, entry_id):
    conn.execute(SET_ORDER_ENTRY, {"shop_id": shop_id, "order_id": order_id, "entry_id": entry_id})


def refund(conn, shop_id, order_id, refund_id):
    return conn.execute(REFUND, {"shop_id": shop_id, "order_id": order_id, "refund_id": refund_id}).fetchone()


def insert_refund(conn, **refund_row):
    return conn.execute(INSERT_REFUND, refund_row).fetchone()


def insert_qr(conn, **qr):
    return conn.execute(INSERT_QR, qr).fetchone()


def qr_by_key(conn, shop_id, key):
    return conn.execute(QR_BY_KEY, {"shop_id": shop_id, "key": key}).fetchone()


def qr(conn, shop_id, qr_id):
    return conn.execute(QR, {"shop_id": shop_id, "qr_id": qr_id}).fetchone()


def claim_qr(conn, shop_id, qr_id, phone, now):
    return conn.execute(CLAIM_QR, {"shop_id": shop_id, "qr_id": qr_id, "phone": phone, "now": now}).fetchone()


def set_qr_sale(conn, qr_id, sale_id):
    conn.execute(SET_QR_SALE, {"qr_id": qr_id, "sale_id": sale_id})


def save_printed(conn, **printed):
    return conn.execute(SAVE_PRINTED, printed).fetchone()


def printed(conn, shop_id, branch_id):
    return conn.execute(PRINTED, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()


def count_scan(conn, branch_id, phone, day, daily_limit):
    return conn.execute(COUNT_SCAN, {"branch_id": branch_id, "phone": phone, "day": day,
                                     "daily_limit": daily_limit}).fetchone()
