"""SQL of member tiers: settings, the daily points projection, the upgrade on each earn,
reads, the dry run. The cycle's SQL is in `tier_cycle_store`."""
from psycopg.types.json import Jsonb

from members import errors

LOCK_SHOP = "SELECT pg_advisory_xact_lock(hashtextextended('members.tiers:' || %(shop_id)s::text, 0))"
SETTINGS = """
SELECT shop_id, version, window_months, downgrade_mode, expiry_months, cycle, tiers, created_at
FROM tier_settings WHERE shop_id = %(shop_id)s ORDER BY version DESC LIMIT 1
"""
INSERT_SETTINGS = """
INSERT INTO tier_settings (shop_id, version, window_months, downgrade_mode, expiry_months, cycle, tiers)
VALUES (%(shop_id)s, %(version)s, %(window_months)s, %(downgrade_mode)s, %(expiry_months)s, %(cycle)s, %(tiers)s)
RETURNING shop_id, version, window_months, downgrade_mode, expiry_months, cycle, tiers, created_at
"""
RETIRE_TIERS = """
UPDATE tiers SET position = NULL WHERE shop_id = %(shop_id)s AND position IS NOT NULL AND NOT name = ANY(%(names)s)
"""
UPSERT_TIER = """
INSERT INTO tiers AS t (tier_id, shop_id, position, name, threshold, version)
VALUES (gen_random_uuid(), %(shop_id)s, %(position)s, %(name)s, %(threshold)s, %(version)s)
ON CONFLICT (shop_id, name) DO UPDATE SET position = EXCLUDED.position, threshold = EXCLUDED.threshold,
                                          version = EXCLUDED.version
"""
SHOP_TIERS = """
SELECT tier_id, shop_id, position, name, threshold FROM tiers WHERE shop_id = ANY(%(shop_ids)s)
ORDER BY shop_id, position NULLS LAST, threshold
"""
# Points received per member and shop-local day (a statement touches a row once: grouped).
RECORD_DAILY = """
INSERT INTO member_daily_points AS d (member_id, day, shop_id, points)
SELECT m.member_id, (e.at AT TIME ZONE s.timezone)::date, m.shop_id, sum(e.points)
FROM unnest(%(shop_ids)s::uuid[], %(phones)s::text[], %(ats)s::timestamptz[], %(points)s::bigint[])
     AS e (shop_id, phone, at, points)
JOIN shops s ON s.shop_id = e.shop_id
JOIN members m ON m.shop_id = e.shop_id AND m.phone = e.phone
GROUP BY 1, 2, 3
ON CONFLICT (member_id, day) DO UPDATE SET points = d.points + EXCLUDED.points
"""
# For each credit: the member, the tier held, and the window sum as of the credit's day
# under the shop's current settings (shops without tier settings are left out).
EARN_WINDOWS = """
WITH e AS (
    SELECT * FROM unnest(%(idx)s::int[], %(shop_ids)s::uuid[], %(phones)s::text[], %(ats)s::timestamptz[])
                  AS e (idx, shop_id, phone, at)
), cur AS (
    SELECT DISTINCT ON (shop_id) shop_id, version, window_months FROM tier_settings
    WHERE shop_id IN (SELECT shop_id FROM e) ORDER BY shop_id, version DESC
), x AS (
    SELECT e.idx, e.at, m.member_id, m.shop_id, m.phone, m.tier_id, cur.version, cur.window_months,
           (e.at AT TIME ZONE s.timezone)::date AS window_end
    FROM e JOIN cur ON cur.shop_id = e.shop_id JOIN shops s ON s.shop_id = e.shop_id
    JOIN members m ON m.shop_id = e.shop_id AND m.phone = e.phone
), w AS (
    SELECT x.*, (x.window_end - make_interval(months => x.window_months))::date AS window_start FROM x
)
SELECT w.*, greatest(coalesce((SELECT sum(d.points) FROM member_daily_points d WHERE d.member_id = w.member_id
                                AND d.day BETWEEN w.window_start AND w.window_end), 0), 0) AS window_points
FROM w ORDER BY w.idx
"""
APPLY_DECISIONS = """
WITH d AS (
    SELECT * FROM unnest(%(member_ids)s::uuid[], %(shop_ids)s::uuid[], %(ats)s::timestamptz[], %(reasons)s::text[],
                         %(from_ids)s::uuid[], %(from_names)s::text[], %(to_ids)s::uuid[], %(to_names)s::text[],
                         %(window_points)s::bigint[], %(starts)s::date[], %(ends)s::date[], %(versions)s::int[])
                  AS d (member_id, shop_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier,
                        window_points, window_start, window_end, settings_version)
), moved AS (
    UPDATE members m SET tier_id = d.to_tier_id, tier_reached_at = d.decided_at, updated_at = now()
    FROM d WHERE m.member_id = d.member_id
)
INSERT INTO tier_decisions (member_id, shop_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier,
                            window_points, window_start, window_end, settings_version)
SELECT member_id, shop_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier,
       window_points, window_start, window_end, settings_version FROM d
RETURNING decision_id, member_id, shop_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier,
          window_points, window_start, window_end, settings_version
"""
# How many members proposed settings would move, grouped by (tier held, tier proposed).
DRY_RUN = """
WITH sums AS (
    SELECT d.member_id, sum(d.points) AS points FROM member_daily_points d JOIN members m USING (member_id)
    WHERE m.shop_id = %(shop_id)s AND d.day BETWEEN %(start)s AND %(end)s GROUP BY d.member_id
)
SELECT t.name AS held_name, t.threshold AS held_threshold,
       (SELECT count(*) FROM unnest(%(thresholds)s::bigint[]) th WHERE th <= greatest(coalesce(s.points, 0), 0))
           AS proposed_position,
       count(*) AS members
FROM members m LEFT JOIN sums s USING (member_id) LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s
GROUP BY 1, 2, 3
"""
MEMBER_TIER = """
SELECT m.member_id, m.shop_id, m.phone, m.tier_id, m.tier_reached_at, s.timezone,
       t.name, t.threshold, t.position
FROM members m JOIN shops s ON s.shop_id = m.shop_id LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.member_id = %(member_id)s
"""
WINDOW_SUM = """
SELECT greatest(coalesce(sum(points), 0), 0) AS points FROM member_daily_points
WHERE member_id = %(member_id)s AND day BETWEEN %(start)s AND %(end)s
"""
HISTORY = """
SELECT decision_id, member_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier, window_points,
       window_start, window_end, settings_version
FROM tier_decisions
WHERE member_id = %(member_id)s AND shop_id = %(shop_id)s AND (%(before)s::bigint IS NULL OR decision_id < %(before)s)
ORDER BY decision_id DESC LIMIT %(limit)s
"""


def lock_shop(conn, shop_id):
    """Serialise settings changes of one shop (until the transaction ends)."""
    conn.execute(LOCK_SHOP, {"shop_id": shop_id})


def current_settings(conn, shop_id):
    return conn.execute(SETTINGS, {"shop_id": shop_id}).fetchone()


def settings_or_404(conn, shop_id):
    settings = current_settings(conn, shop_id)
    if settings is None:
        raise errors.tier_settings_not_found(shop_id)
    return settings


def insert_settings(conn, **settings):
    return conn.execute(INSERT_SETTINGS, {**settings, "tiers": Jsonb(settings["tiers"])}).fetchone()


def sync_tiers(conn, shop_id, version, tiers):
    """Make the shop's tiers those of `version` (by name); tiers left out are retired."""
    conn.execute(RETIRE_TIERS, {"shop_id": shop_id, "names": [t["name"] for t in tiers]})
    with conn.cursor() as cur:
        cur.executemany(UPSERT_TIER, [{"shop_id": shop_id, "position": index, "name": t["name"],
                                       "threshold": t["threshold"], "version": version}
                                      for index, t in enumerate(tiers, start=1)])


def shop_tiers(conn, shop_ids):
    """Every tier row of these shops, retired ones (position None) included."""
    return conn.execute(SHOP_TIERS, {"shop_ids": list(shop_ids)}).fetchall()


def record_daily(conn, rows):
    """rows: (shop_id, phone, occurred_at, points received)."""
    if rows:
        shop_ids, phones, ats, points = (list(column) for column in zip(*rows, strict=True))
        conn.execute(RECORD_DAILY, {"shop_ids": shop_ids, "phones": phones, "ats": ats, "points": points})


def earn_windows(conn, credits):
    """credits: (shop_id, phone, occurred_at). One row per credit of a shop with tier settings."""
    if not credits:
        return []
    shop_ids, phones, ats = (list(column) for column in zip(*credits, strict=True))
    return conn.execute(EARN_WINDOWS, {"idx": list(range(len(credits))), "shop_ids": shop_ids, "phones": phones,
                                       "ats": ats}).fetchall()


def apply_decisions(conn, decisions):
    """Move each member to its decided tier and record the decisions. Returns them with ids."""
    if not decisions:
        return []

    def column(name):
        return [d[name] for d in decisions]

    return conn.execute(APPLY_DECISIONS, {
        "member_ids": column("member_id"), "shop_ids": column("shop_id"), "ats": column("decided_at"),
        "reasons": column("reason"), "from_ids": column("from_tier_id"), "from_names": column("from_tier"),
        "to_ids": column("to_tier_id"), "to_names": column("to_tier"), "window_points": column("window_points"),
        "starts": column("window_start"), "ends": column("window_end"), "versions": column("settings_version"),
    }).fetchall()


def dry_run(conn, shop_id, start, end, thresholds):
    return conn.execute(DRY_RUN, {"shop_id": shop_id, "start": start, "end": end,
                                  "thresholds": thresholds}).fetchall()


def member_tier(conn, shop_id, member_id):
    row = conn.execute(MEMBER_TIER, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    if row is None:
        raise errors.tier_member_not_found(member_id)
    return row


def window_sum(conn, member_id, start, end):
    return conn.execute(WINDOW_SUM, {"member_id": member_id, "start": start, "end": end}).fetchone()["points"]


def history(conn, shop_id, member_id, limit, before=None):
    return conn.execute(HISTORY, {"shop_id": shop_id, "member_id": member_id, "limit": limit,
                                  "before": before}).fetchall()
