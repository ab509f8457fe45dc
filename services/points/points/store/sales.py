"""Shops' copy, earn rules, points settings and sales: the SQL of earning at the counter."""
from points import domain, errors
from points.store.ledger import ENTRY_COLUMNS, event_from

SETTINGS_COLUMNS = "coalesce(ps.expiry_mode, 'never') AS expiry_mode, ps.expiry_months, " \
                   "coalesce(ps.warn_days, 30) AS warn_days, coalesce(ps.welcome_points, 0) AS welcome_points, " \
                   "coalesce(ps.qr_minutes, 10) AS qr_minutes"
# What a credit needs to know about its shop (and branch), in one round trip: the
# time zone, the settings, and the earn rule in force (the branch's own unless
# removed, else the shop's). No shop row, or no branch row, means the copy of
# members' directory has not seen it yet.
EARN_CONTEXT = f"""
SELECT s.shop_id, s.timezone, b.branch_id, {SETTINGS_COLUMNS},
       CASE WHEN br.version IS NOT NULL AND NOT br.removed THEN br.version ELSE sr.version END AS version,
       CASE WHEN br.version IS NOT NULL AND NOT br.removed THEN br.points ELSE sr.points END AS points,
       CASE WHEN br.version IS NOT NULL AND NOT br.removed THEN br.unit_satang ELSE sr.unit_satang END AS unit_satang,
       CASE WHEN br.version IS NOT NULL AND NOT br.removed THEN br.min_spend_satang
            ELSE sr.min_spend_satang END AS min_spend_satang
FROM shops s
LEFT JOIN branches b ON b.branch_id = %(branch_id)s AND b.shop_id = s.shop_id
LEFT JOIN points_settings ps ON ps.shop_id = s.shop_id
LEFT JOIN LATERAL (SELECT * FROM earn_rules WHERE shop_id = s.shop_id AND branch_id = %(branch_id)s
                   ORDER BY version DESC LIMIT 1) br ON true
LEFT JOIN LATERAL (SELECT * FROM earn_rules WHERE shop_id = s.shop_id AND branch_id IS NULL
                   ORDER BY version DESC LIMIT 1) sr ON true
WHERE s.shop_id = %(shop_id)s
"""
SETTINGS = f"""
SELECT s.shop_id, s.timezone, {SETTINGS_COLUMNS}, ps.updated_at
FROM shops s LEFT JOIN points_settings ps ON ps.shop_id = s.shop_id WHERE s.shop_id = %(shop_id)s
"""
SAVE_SETTINGS = """
INSERT INTO points_settings (shop_id, expiry_mode, expiry_months, warn_days, welcome_points, qr_minutes, updated_at)
VALUES (%(shop_id)s, %(expiry_mode)s, %(expiry_months)s, %(warn_days)s, %(welcome_points)s, %(qr_minutes)s, now())
ON CONFLICT (shop_id) DO UPDATE SET expiry_mode = EXCLUDED.expiry_mode, expiry_months = EXCLUDED.expiry_months,
    warn_days = EXCLUDED.warn_days, welcome_points = EXCLUDED.welcome_points, qr_minutes = EXCLUDED.qr_minutes,
    updated_at = now()
"""
NEWEST_RULE = """
SELECT shop_id, branch_id, version, points, unit_satang, min_spend_satang, removed, created_at FROM earn_rules
WHERE shop_id = %(shop_id)s AND branch_id IS NOT DISTINCT FROM %(branch_id)s ORDER BY version DESC LIMIT 1
"""
NEXT_VERSION = "SELECT coalesce(max(version), 0) + 1 AS version FROM earn_rules WHERE shop_id = %(shop_id)s"
INSERT_RULE = """
INSERT INTO earn_rules (shop_id, branch_id, version, points, unit_satang, min_spend_satang, removed)
VALUES (%(shop_id)s, %(branch_id)s, %(version)s, %(points)s, %(unit_satang)s, %(min_spend_satang)s, %(removed)s)
RETURNING shop_id, branch_id, version, points, unit_satang, min_spend_satang, removed, created_at
"""
# Locks the shop's rule history so two concurrent changes get distinct versions.
LOCK_SHOP = "SELECT 1 FROM shops WHERE shop_id = %(shop_id)s FOR UPDATE"
BRANCH_OF_SHOP = "SELECT 1 FROM branches WHERE branch_id = %(branch_id)s AND shop_id = %(shop_id)s"
# A sale, the phone's account if new, its credit (entry and lot, when it earns points) and
# its points.earned event, in one statement: atomic on its own, so a counter sale needs no
# BEGIN/COMMIT round trips.
# Nothing is written when the key or the receipt was used before (no row comes back). The
# event's entry id, balance and position come from the entry its trigger just wrote (or,
# for a sale that earns nothing, from the account as it stands).
RECORD_EARN = f"""
WITH sale AS (
    INSERT INTO sales (sale_id, shop_id, branch_id, phone, amount_satang, receipt_no, points, rule_version,
                       idempotency_key, fingerprint, source, balance_at_sale)
    VALUES (%(sale_id)s, %(shop_id)s, %(branch_id)s, %(phone)s, %(amount_satang)s, %(receipt_no)s,
            %(points)s, %(rule_version)s, %(idempotency_key)s, %(fingerprint)s, %(source)s,
            CASE WHEN %(points)s = 0 THEN coalesce(
                (SELECT balance FROM accounts WHERE shop_id = %(shop_id)s AND phone = %(phone)s), 0) END)
    ON CONFLICT DO NOTHING
    RETURNING sale_id, created_at, balance_at_sale
), account AS (
    -- only for a sale that is recorded (sales' key to accounts is checked at the statement's end)
    INSERT INTO accounts (shop_id, phone) SELECT %(shop_id)s::uuid, %(phone)s::text FROM sale
    ON CONFLICT DO NOTHING RETURNING 1
), entry AS (
    INSERT INTO entries ({ENTRY_COLUMNS})
    SELECT %(shop_id)s::uuid, %(phone)s::text, 'earn', %(points)s::bigint, %(branch_id)s::uuid, sale.sale_id,
           %(source)s::text, %(actor_type)s::text, %(actor_id)s::text, %(rule_version)s::int, NULL, NULL, NULL, 0, 0
    -- reading `account` first makes the account exist before the entry's trigger credits it
    FROM sale, (SELECT count(*) FROM account) AS opened WHERE %(points)s::bigint > 0
    RETURNING entry_id, shop_id, phone, points, balance_after, account_seq
), lot AS (
    INSERT INTO lots (shop_id, phone, entry_id, points, remaining, expires_at)
    SELECT shop_id, phone, entry_id, points, points, %(expires_at)s::timestamptz FROM entry
), result AS (
    SELECT sale.created_at, entry.entry_id,
           coalesce(entry.balance_after, sale.balance_at_sale) AS balance,
           coalesce(entry.account_seq, (SELECT entry_seq FROM accounts
                                        WHERE shop_id = %(shop_id)s AND phone = %(phone)s), 0) AS seq
    FROM sale LEFT JOIN entry ON true
), event AS (
    {event_from("result", "entry_id", "balance", "seq")}
)
SELECT created_at, entry_id, balance, seq FROM result
"""
# A sale as its first answer gave it, found by the request's idempotency key.
SALE_BY_KEY = """
SELECT s.sale_id, s.shop_id, s.branch_id, s.phone, s.amount_satang, s.receipt_no, s.points,
       s.rule_version, s.fingerprint, s.created_at, e.entry_id,
       coalesce(e.balance_after, s.balance_at_sale) AS balance
FROM sales s LEFT JOIN entries e ON e.sale_id = s.sale_id AND e.kind = 'earn'
WHERE s.shop_id = %(shop_id)s AND s.idempotency_key = %(idempotency_key)s
"""
SALE_CREDIT = """
SELECT s.sale_id, s.phone, s.branch_id, e.entry_id FROM sales s
LEFT JOIN entries e ON e.sale_id = s.sale_id AND e.kind = 'earn'
WHERE s.shop_id = %(shop_id)s AND s.sale_id = %(sale_id)s
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
    """The copy lacks this shop or branch: fill it from the members service and retry."""

    def __init__(self, shop_id, branch_id=None):
        self.shop_id = shop_id
        self.branch_id = branch_id
        super().__init__(shop_id, branch_id)


def _settings(row):
    policy = domain.ExpiryPolicy(row["expiry_mode"], row["expiry_months"])
    return domain.PointsSettings(policy, row["warn_days"], row["welcome_points"], row["qr_minutes"])


def earn_context(conn, shop_id, branch_id, need_rule=True):
    """(timezone, settings, EarnRule or None) for a credit at this shop (and branch, if given)."""
    row = conn.execute(EARN_CONTEXT, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()
    if row is None or (branch_id is not None and row["branch_id"] is None):
        raise Missing(shop_id, branch_id)
    rule = None
    if row["version"] is not None:
        rule = domain.EarnRule(row["points"], row["unit_satang"], row["min_spend_satang"], row["version"])
    elif need_rule:
        raise errors.earn_rule_missing(shop_id)
    return row["timezone"], _settings(row), rule


def settings(conn, shop_id):
    row = conn.execute(SETTINGS, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise Missing(shop_id)
    return row, _settings(row)


def save_settings(conn, shop_id, settings):
    conn.execute(SAVE_SETTINGS, {
        "shop_id": shop_id, "expiry_mode": settings.expiry.mode, "expiry_months": settings.expiry.months,
        "warn_days": settings.warn_days, "welcome_points": settings.welcome_points,
        "qr_minutes": settings.qr_minutes})


def lock_shop(conn, shop_id, branch_id=None):
    if conn.execute(LOCK_SHOP, {"shop_id": shop_id}).fetchone() is None:
        raise Missing(shop_id, branch_id)
    if branch_id is not None and conn.execute(
            BRANCH_OF_SHOP, {"shop_id": shop_id, "branch_id": branch_id}).fetchone() is None:
        raise Missing(shop_id, branch_id)


def newest_rule(conn, shop_id, branch_id=None):
    return conn.execute(NEWEST_RULE, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()


def insert_rule(conn, shop_id, branch_id, rule, removed=False):
    version = conn.execute(NEXT_VERSION, {"shop_id": shop_id}).fetchone()["version"]
    return conn.execute(INSERT_RULE, {
        "shop_id": shop_id, "branch_id": branch_id, "version": version, "points": rule.points,
        "unit_satang": rule.unit_satang, "min_spend_satang": rule.min_spend_satang, "removed": removed,
    }).fetchone()


def record_earn(conn, event, **sale):
    """Record a sale with its credit and its event (`event`: an outbox row's parameters, whose
    data the statement completes). None if the idempotency key or the receipt was used
    before (see `sale_by_key`): then nothing was written."""
    return conn.execute(RECORD_EARN, {**sale, **event}).fetchone()


def sale_by_key(conn, shop_id, idempotency_key):
    return conn.execute(SALE_BY_KEY, {"shop_id": shop_id, "idempotency_key": idempotency_key}).fetchone()


def sale_credit(conn, shop_id, sale_id):
    """The sale and its earn entry (entry_id None if it earned nothing), or sale_not_found."""
    row = conn.execute(SALE_CREDIT, {"shop_id": shop_id, "sale_id": sale_id}).fetchone()
    if row is None:
        raise errors.sale_not_found(sale_id)
    return row


def balance(conn, shop_id, phone):
    account = conn.execute(BALANCE, {"shop_id": shop_id, "phone": phone}).fetchone()
    if account is None:
        raise errors.account_not_found(phone)
    return account


def upsert_shop(conn, shop_id, timezone):
    conn.execute(UPSERT_SHOP, {"shop_id": shop_id, "timezone": timezone})


def upsert_branch(conn, branch_id, shop_id):
    conn.execute(UPSERT_BRANCH, {"branch_id": branch_id, "shop_id": shop_id})
