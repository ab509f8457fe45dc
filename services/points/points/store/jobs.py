"""Set-based SQL of the periodic jobs: expiry, expiry warnings, reconciliation.

Each statement works on a chunk of accounts; the job commits chunk by chunk.
Accounts are locked before their lots, in key order: the same order every other
writer follows, so a job never deadlocks with the counters.
"""
# Expire, for up to `limit` accounts, every lot past its date: one expire entry
# per account (its trigger moves the balance), the lots emptied and tied to it.
EXPIRE_CHUNK = """
WITH accounts_due AS (
    SELECT DISTINCT shop_id, phone FROM lots
    WHERE remaining > 0 AND expires_at < %(as_of)s
    LIMIT %(limit)s
), locked AS (
    SELECT a.shop_id, a.phone FROM accounts a JOIN accounts_due d USING (shop_id, phone)
    ORDER BY a.shop_id, a.phone
    FOR UPDATE OF a
), due AS MATERIALIZED (
    SELECT l.lot_id, l.shop_id, l.phone, l.remaining FROM lots l JOIN locked USING (shop_id, phone)
    WHERE l.remaining > 0 AND l.expires_at < %(as_of)s
    FOR UPDATE OF l
), sums AS (
    SELECT shop_id, phone, sum(remaining) AS points, count(*) AS lots FROM due GROUP BY shop_id, phone
), made AS (
    INSERT INTO entries (shop_id, phone, kind, points, source, actor_type, reason, balance_after, account_seq)
    SELECT shop_id, phone, 'expire', -points, 'system', 'system', 'points expired', 0, 0 FROM sums
    RETURNING entry_id, shop_id, phone, points, balance_after, account_seq
), emptied AS (
    UPDATE lots SET remaining = 0, expired_entry_id = made.entry_id
    FROM due JOIN made USING (shop_id, phone)
    WHERE lots.lot_id = due.lot_id
)
SELECT made.entry_id, made.shop_id, made.phone, made.points, made.balance_after AS balance,
       made.account_seq AS balance_seq, sums.lots
FROM made JOIN sums USING (shop_id, phone)
"""
# Warn, once per lot, about points expiring within each shop's warning days:
# for up to `limit` accounts, one row per account with the points and the
# earliest expiry; the lots are marked so that the next run does not warn again.
WARN_CHUNK = """
WITH window_lots AS (
    SELECT l.lot_id, l.shop_id, l.phone, l.remaining, l.expires_at, coalesce(ps.warn_days, 30) AS warn_days
    FROM lots l LEFT JOIN points_settings ps ON ps.shop_id = l.shop_id
    WHERE l.remaining > 0 AND l.warned_at IS NULL AND l.expires_at >= %(as_of)s
      AND l.expires_at < %(as_of)s + make_interval(days => coalesce(ps.warn_days, 30))
), accounts_due AS (
    SELECT DISTINCT shop_id, phone FROM window_lots LIMIT %(limit)s
), due AS MATERIALIZED (
    SELECT w.* FROM window_lots w JOIN accounts_due USING (shop_id, phone)
), marked AS (
    UPDATE lots SET warned_at = %(as_of)s FROM due WHERE lots.lot_id = due.lot_id
)
SELECT due.shop_id, due.phone, sum(due.remaining) AS points, min(due.expires_at) AS expires_at,
       min(due.warn_days) AS warn_days, a.balance
FROM due JOIN accounts a USING (shop_id, phone)
GROUP BY due.shop_id, due.phone, a.balance
"""
# Accounts whose balance is not the sum of their entries, or not the sum of their lots.
RECONCILE = """
SELECT a.shop_id, a.phone, a.balance, coalesce(e.total, 0) AS entries_total, coalesce(l.total, 0) AS lots_total
FROM accounts a
LEFT JOIN (SELECT shop_id, phone, sum(points) AS total FROM entries GROUP BY shop_id, phone) e USING (shop_id, phone)
LEFT JOIN (SELECT shop_id, phone, sum(remaining) AS total FROM lots GROUP BY shop_id, phone) l USING (shop_id, phone)
WHERE a.balance <> coalesce(e.total, 0) OR a.balance <> coalesce(l.total, 0)
ORDER BY a.shop_id, a.phone
LIMIT %(limit)s
"""
COUNT_ACCOUNTS = "SELECT count(*) AS n FROM accounts"
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(%(name)s)) AS got"
UNLOCK = "SELECT pg_advisory_unlock(hashtext(%(name)s))"


def expire_chunk(conn, as_of, limit):
    return conn.execute(EXPIRE_CHUNK, {"as_of": as_of, "limit": limit}).fetchall()


def warn_chunk(conn, as_of, limit):
    return conn.execute(WARN_CHUNK, {"as_of": as_of, "limit": limit}).fetchall()


def drift(conn, limit=1000):
    return conn.execute(RECONCILE, {"limit": limit}).fetchall()


def count_accounts(conn):
    return conn.execute(COUNT_ACCOUNTS).fetchone()["n"]


def try_lock(conn, name):
    """A session-level advisory lock: one run of a job at a time across replicas."""
    return conn.execute(TRY_LOCK, {"name": name}).fetchone()["got"]


def unlock(conn, name):
    conn.execute(UNLOCK, {"name": name})
