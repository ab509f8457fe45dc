"""SQL of the tier cycle: cycle ends and tier expiry, set-based on chunks of a shop's
members, one statement each (window sums, new tier, members moved, decision rows)."""

# Shops with tier settings (their current version) and when their tiers began.
PROGRAMS = """
SELECT DISTINCT ON (ts.shop_id) ts.shop_id, ts.version, ts.window_months, ts.downgrade_mode, ts.expiry_months,
       ts.cycle, s.timezone, first.created_at AS started_at
FROM tier_settings ts JOIN shops s ON s.shop_id = ts.shop_id AND s.status = 'active'
JOIN tier_settings first ON first.shop_id = ts.shop_id AND first.version = 1
WHERE %(shop_id)s::uuid IS NULL OR ts.shop_id = %(shop_id)s
ORDER BY ts.shop_id, ts.version DESC
"""
CYCLE_DONE = "SELECT 1 FROM tier_cycle_runs WHERE shop_id = %(shop_id)s AND cycle_end = %(cycle_end)s"
RECORD_CYCLE = """
INSERT INTO tier_cycle_runs (shop_id, cycle_end, settings_version, changed)
VALUES (%(shop_id)s, %(cycle_end)s, %(version)s, %(changed)s) ON CONFLICT DO NOTHING
"""
# The last member id of every `size` members of a shop, in id order: the chunks' bounds.
CHUNK_BOUNDS = """
SELECT member_id FROM (
    SELECT member_id, row_number() OVER (ORDER BY member_id) AS n FROM members WHERE shop_id = %(shop_id)s
) numbered WHERE n %% %(size)s = 0 ORDER BY member_id
"""
# The window sums of a shop as of a cycle end, once per run (a temporary table of the
# job's session, read by every chunk): an index-only scan of the shop's window days.
# (work_mem for this transaction only: a million groups aggregate in memory, not on disk;
# the index is built once the rows are in.)
WINDOW_SUMS = [
    "SET LOCAL work_mem = '256MB'",
    "DROP TABLE IF EXISTS tier_window_sums",
    "CREATE TEMPORARY TABLE tier_window_sums (member_id UUID NOT NULL, points BIGINT NOT NULL)",
    """INSERT INTO tier_window_sums (member_id, points)
       SELECT member_id, sum(points) FROM member_daily_points
       WHERE shop_id = %(shop_id)s AND day BETWEEN %(start)s AND %(end)s GROUP BY member_id""",
    "CREATE UNIQUE INDEX ON tier_window_sums (member_id)",
    "ANALYZE tier_window_sums",
]
DROP_WINDOW_SUMS = "DROP TABLE IF EXISTS tier_window_sums"
# The tiers of a shop as ranges [threshold, below): the tier a window sum reaches.
_TIER_RANGES = """tier_ranges AS (
    SELECT tier_id, threshold, lead(threshold) OVER (ORDER BY threshold) AS below
    FROM tiers WHERE shop_id = %(shop_id)s AND position IS NOT NULL
)"""
# Moving the decided members and recording their decisions; a member changed meanwhile
# by another transaction (an earn) is left as it is: the UPDATE re-checks tier_id and
# tier_reached_at on the row it finally locks.
_DECIDE_TAIL = """
), changed AS (
    UPDATE members m SET tier_id = d.to_tier_id, tier_reached_at = d.decided_at, updated_at = now()
    FROM decided d
    WHERE m.member_id = d.member_id {range} AND m.tier_id IS NOT DISTINCT FROM d.from_tier_id
      AND m.tier_reached_at IS NOT DISTINCT FROM d.reached_at
    RETURNING m.member_id, m.phone, d.from_tier_id, d.to_tier_id, d.window_points, d.window_start, d.window_end,
              d.decided_at
), logged AS (
    INSERT INTO tier_decisions (member_id, shop_id, decided_at, reason, from_tier_id, from_tier, to_tier_id, to_tier,
                                window_points, window_start, window_end, settings_version)
    SELECT c.member_id, %(shop_id)s, c.decided_at, %(reason)s, c.from_tier_id, f.name, c.to_tier_id, t.name,
           c.window_points, c.window_start, c.window_end, %(version)s
    FROM changed c LEFT JOIN tiers f ON f.tier_id = c.from_tier_id LEFT JOIN tiers t ON t.tier_id = c.to_tier_id
    RETURNING decision_id, member_id, decided_at, from_tier_id, from_tier, to_tier_id, to_tier, window_points,
              window_start, window_end
)
SELECT l.*, m.phone FROM logged l JOIN members m ON m.member_id = l.member_id
"""
# A cycle end for the members (after, upper] of a shop: the tier their window sum
# reaches; those whose tier changes are moved, with one decision each. A member whose
# tier was decided after the cycle end (an earn since) keeps it.
CYCLE_CHUNK = """
WITH """ + _TIER_RANGES + """, decided AS MATERIALIZED (
    SELECT m.member_id, m.tier_id AS from_tier_id, m.tier_reached_at AS reached_at, t.tier_id AS to_tier_id,
           greatest(coalesce(s.points, 0), 0) AS window_points, %(start)s::date AS window_start,
           %(end)s::date AS window_end, %(decided_at)s::timestamptz AS decided_at
    FROM members m LEFT JOIN tier_window_sums s
         ON s.member_id = m.member_id AND s.member_id > %(after)s::uuid AND s.member_id <= %(upper)s::uuid
    LEFT JOIN tier_ranges t ON greatest(coalesce(s.points, 0), 0) >= t.threshold
                           AND (t.below IS NULL OR greatest(coalesce(s.points, 0), 0) < t.below)
    WHERE m.shop_id = %(shop_id)s AND m.member_id > %(after)s::uuid AND m.member_id <= %(upper)s::uuid
      AND (m.tier_reached_at IS NULL OR m.tier_reached_at <= %(decided_at)s)
      AND t.tier_id IS DISTINCT FROM m.tier_id
""" + _DECIDE_TAIL.replace("{range}", "AND m.member_id > %(after)s::uuid AND m.member_id <= %(upper)s::uuid")
# Tiers held past their expiry, up to `limit` members of a shop: each is decided as of
# its own expiry moment (window as of that day); the tier the points reach (maybe the
# same: it starts again) is held from that moment.
EXPIRY_CHUNK = """
WITH """ + _TIER_RANGES + """, due AS (
    SELECT member_id, tier_id AS from_tier_id, tier_reached_at AS reached_at,
           ((tier_reached_at AT TIME ZONE %(tz)s) + make_interval(months => %(months)s)) AT TIME ZONE %(tz)s
               AS decided_at
    FROM members
    WHERE shop_id = %(shop_id)s AND tier_id IS NOT NULL
      AND tier_reached_at <= %(as_of)s - make_interval(days => 28 * %(months)s) + interval '1 day'
      AND ((tier_reached_at AT TIME ZONE %(tz)s) + make_interval(months => %(months)s)) AT TIME ZONE %(tz)s
          <= %(as_of)s
    ORDER BY member_id LIMIT %(limit)s
), win AS (
    SELECT due.*, (decided_at AT TIME ZONE %(tz)s)::date AS window_end,
           ((decided_at AT TIME ZONE %(tz)s)::date - make_interval(months => %(window_months)s))::date AS window_start
    FROM due
), points AS (
    SELECT w.member_id, w.from_tier_id, w.reached_at, w.decided_at, w.window_start, w.window_end,
           greatest(coalesce(sum(d.points), 0), 0) AS window_points
    FROM win w LEFT JOIN member_daily_points d
         ON d.member_id = w.member_id AND d.day BETWEEN w.window_start AND w.window_end
    GROUP BY w.member_id, w.from_tier_id, w.reached_at, w.decided_at, w.window_start, w.window_end
), decided AS MATERIALIZED (
    SELECT p.*, t.tier_id AS to_tier_id FROM points p
    LEFT JOIN tier_ranges t ON p.window_points >= t.threshold AND (t.below IS NULL OR p.window_points < t.below)
""" + _DECIDE_TAIL.replace("{range}", "")
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(%(name)s)) AS got"
UNLOCK = "SELECT pg_advisory_unlock(hashtext(%(name)s))"
FIRST_UUID, LAST_UUID = "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"


def programs(conn, shop_id=None):
    return conn.execute(PROGRAMS, {"shop_id": shop_id}).fetchall()


def last_cycle(conn, shop_id):
    """The latest cycle end evaluated for the shop, or None."""
    return conn.execute("SELECT max(cycle_end) AS day FROM tier_cycle_runs WHERE shop_id = %(shop_id)s",
                        {"shop_id": shop_id}).fetchone()["day"]


def cycle_done(conn, shop_id, cycle_end):
    return conn.execute(CYCLE_DONE, {"shop_id": shop_id, "cycle_end": cycle_end}).fetchone() is not None


def record_cycle(conn, shop_id, cycle_end, version, changed):
    conn.execute(RECORD_CYCLE, {"shop_id": shop_id, "cycle_end": cycle_end, "version": version, "changed": changed})


def chunk_bounds(conn, shop_id, size):
    """Upper bounds of chunks of about `size` of the shop's members, the last one the highest
    id possible (members that arrive meanwhile fall in some chunk)."""
    rows = conn.execute(CHUNK_BOUNDS, {"shop_id": shop_id, "size": size}).fetchall()
    return [str(row["member_id"]) for row in rows] + [LAST_UUID]


def prepare_window_sums(conn, shop_id, start, end):
    """The shop's window sums into this session's temporary table (kept after the transaction)."""
    with conn.transaction():
        for statement in WINDOW_SUMS:
            conn.execute(statement, {"shop_id": shop_id, "start": start, "end": end})


def drop_window_sums(conn):
    conn.execute(DROP_WINDOW_SUMS)


def cycle_chunk(conn, **params):
    return conn.execute(CYCLE_CHUNK, {**params, "reason": "cycle_end"}).fetchall()


def expiry_chunk(conn, **params):
    return conn.execute(EXPIRY_CHUNK, {**params, "reason": "tier_expired"}).fetchall()


def try_lock(conn, name):
    """A session-level advisory lock: one cycle run at a time across replicas."""
    return conn.execute(TRY_LOCK, {"name": name}).fetchone()["got"]


def unlock(conn, name):
    conn.execute(UNLOCK, {"name": name})
