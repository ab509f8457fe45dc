"""SQL of personal data (PDPA) in rewards: a member's redemptions and coupons, their erasure
(phone -> pseudonym, delivery address removed) and a cancelled shop's purge in chunks."""
MEMBER_REDEMPTIONS = """
SELECT to_jsonb(r) - 'fingerprint' AS record FROM redemptions r
WHERE shop_id = %(shop_id)s AND phone = %(phone)s ORDER BY created_at
"""
MEMBER_COUPONS = """
SELECT to_jsonb(c) || jsonb_build_object('history', coalesce((
    SELECT jsonb_agg(to_jsonb(h) ORDER BY h.history_id) FROM coupon_history h WHERE h.coupon_id = c.coupon_id), '[]'))
    AS record
FROM coupons c WHERE shop_id = %(shop_id)s AND phone = %(phone)s ORDER BY issued_at
"""
# The spend request a redemption keeps (replayed by the recovery sweep) names the account:
# it names the pseudonym too, as the points service's account does after its own erasure.
ERASE_REDEMPTIONS = """
UPDATE redemptions SET phone = %(pseudonym)s, address = NULL,
       spend = CASE WHEN spend ? 'phone' THEN jsonb_set(spend, '{phone}', to_jsonb(%(pseudonym)s::text)) ELSE spend END
WHERE shop_id = %(shop_id)s AND phone = %(phone)s
"""
ERASE_COUPONS = "UPDATE coupons SET phone = %(pseudonym)s WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
COUPONS_CHUNK = "SELECT array_agg(coupon_id) AS ids FROM (SELECT coupon_id FROM coupons WHERE shop_id = %(shop_id)s " \
                "LIMIT %(limit)s) c"
DELETE_HISTORY = "DELETE FROM coupon_history WHERE coupon_id = ANY(%(ids)s)"
DELETE_COUPONS = "DELETE FROM coupons WHERE coupon_id = ANY(%(ids)s)"
DELETE_REDEMPTIONS = """
DELETE FROM redemptions WHERE redemption_id = ANY(ARRAY(
    SELECT redemption_id FROM redemptions WHERE shop_id = %(shop_id)s LIMIT %(limit)s))
"""
DELETE_SHOP = [
    "DELETE FROM code_pool WHERE reward_id IN (SELECT reward_id FROM rewards WHERE shop_id = %(shop_id)s)",
    "DELETE FROM rewards WHERE shop_id = %(shop_id)s",
    "DELETE FROM shops WHERE shop_id = %(shop_id)s",
]


def member_records(conn, shop_id, phone):
    params = {"shop_id": shop_id, "phone": phone}
    return {"redemptions": [row["record"] for row in conn.execute(MEMBER_REDEMPTIONS, params)],
            "coupons": [row["record"] for row in conn.execute(MEMBER_COUPONS, params)]}


def erase(conn, shop_id, phone, pseudonym):
    """(redemptions, coupons) re-keyed to the pseudonym."""
    params = {"shop_id": shop_id, "phone": phone, "pseudonym": pseudonym}
    return conn.execute(ERASE_REDEMPTIONS, params).rowcount, conn.execute(ERASE_COUPONS, params).rowcount


def purge_coupons_chunk(conn, shop_id, limit):
    ids = conn.execute(COUPONS_CHUNK, {"shop_id": shop_id, "limit": limit}).fetchone()["ids"]
    if not ids:
        return 0
    conn.execute(DELETE_HISTORY, {"ids": ids})
    return conn.execute(DELETE_COUPONS, {"ids": ids}).rowcount


def purge_redemptions_chunk(conn, shop_id, limit):
    return conn.execute(DELETE_REDEMPTIONS, {"shop_id": shop_id, "limit": limit}).rowcount


def purge_shop(conn, shop_id):
    for query in DELETE_SHOP:
        conn.execute(query, {"shop_id": shop_id})
