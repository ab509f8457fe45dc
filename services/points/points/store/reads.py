"""What members, staff, admins and auditors read: history, lots, expiring points, statistics."""
HISTORY = """
SELECT entry_id, kind, points, balance_after, branch_id, sale_id, source, actor_type, actor_id, rule_version,
       reason, ref, ref_entry_id, created_at
FROM entries
WHERE shop_id = %(shop_id)s AND phone = %(phone)s
  AND (%(before)s::bigint IS NULL OR entry_id < %(before)s)
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s))
  AND (%(branch_id)s::uuid IS NULL OR branch_id = %(branch_id)s)
  AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)
ORDER BY entry_id DESC
LIMIT %(limit)s
"""
OPEN_LOTS = """
SELECT lot_id, entry_id, points, remaining, expires_at, created_at FROM lots
WHERE shop_id = %(shop_id)s AND phone = %(phone)s AND remaining > 0
ORDER BY expires_at NULLS LAST, lot_id
"""
EXPIRING = """
SELECT (l.expires_at AT TIME ZONE s.timezone)::date AS day, sum(l.remaining) AS points, max(l.expires_at) AS expires_at
FROM lots l JOIN shops s USING (shop_id)
WHERE l.shop_id = %(shop_id)s AND l.phone = %(phone)s AND l.remaining > 0
  AND l.expires_at >= %(now)s AND l.expires_at < %(now)s + make_interval(days => %(days)s)
GROUP BY 1 ORDER BY 1
"""
# Per shop day (in the shop's time zone): points issued, redeemed, expired,
# voided (net), adjusted down, and the net change; optionally for one branch.
STATS = """
WITH bounds AS (
    SELECT s.timezone,
           (%(since)s::date::timestamp AT TIME ZONE s.timezone) AS start_at,
           ((%(until)s::date + 1)::timestamp AT TIME ZONE s.timezone) AS end_at
    FROM shops s WHERE s.shop_id = %(shop_id)s
)
SELECT (e.created_at AT TIME ZONE b.timezone)::date AS day,
       coalesce(sum(e.points) FILTER (WHERE e.kind IN ('earn', 'welcome') OR (e.kind = 'adjust' AND e.points > 0)), 0)
           AS issued,
       coalesce(-sum(e.points) FILTER (WHERE e.kind = 'redeem'), 0) AS redeemed,
       coalesce(-sum(e.points) FILTER (WHERE e.kind = 'expire'), 0) AS expired,
       coalesce(sum(e.points) FILTER (WHERE e.kind = 'void'), 0) AS voided,
       coalesce(-sum(e.points) FILTER (WHERE e.kind = 'adjust' AND e.points < 0), 0) AS adjusted_down,
       sum(e.points) AS net
FROM entries e, bounds b
WHERE e.shop_id = %(shop_id)s AND e.created_at >= b.start_at AND e.created_at < b.end_at
  AND (%(branch_id)s::uuid IS NULL OR e.branch_id = %(branch_id)s)
GROUP BY 1 ORDER BY 1
"""
OUTSTANDING_BEFORE = """
SELECT coalesce(sum(e.points), 0) AS points FROM entries e JOIN shops s USING (shop_id)
WHERE e.shop_id = %(shop_id)s AND e.created_at < (%(since)s::date::timestamp AT TIME ZONE s.timezone)
"""


def history(conn, shop_id, phone, kinds=None, branch_id=None, since=None, until=None, before=None, limit=50):
    """Newest first; one more row than asked tells whether there is a next page."""
    return conn.execute(HISTORY, {"shop_id": shop_id, "phone": phone, "kinds": kinds, "branch_id": branch_id,
                                  "since": since, "until": until, "before": before, "limit": limit + 1}).fetchall()


def open_lots(conn, shop_id, phone):
    return conn.execute(OPEN_LOTS, {"shop_id": shop_id, "phone": phone}).fetchall()


def expiring(conn, shop_id, phone, now, days):
    return conn.execute(EXPIRING, {"shop_id": shop_id, "phone": phone, "now": now, "days": days}).fetchall()


def stats(conn, shop_id, since, until, branch_id=None):
    return conn.execute(STATS, {"shop_id": shop_id, "since": since, "until": until,
                                "branch_id": branch_id}).fetchall()


def outstanding_before(conn, shop_id, since):
    return conn.execute(OUTSTANDING_BEFORE, {"shop_id": shop_id, "since": since}).fetchone()["points"]
