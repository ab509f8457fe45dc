"""Stamp cards (designs, lifecycle, a new validity on members' open cards), the shop lock and
stamp QR codes (one-time and printed): their SQL."""
import psycopg.errors
from psycopg.types.json import Jsonb

from points import stamp_domain
from points.store.sales import Missing

CARD_COLUMNS = """c.card_id, c.shop_id, c.status, c.name, c.stamps_to_fill, c.rule_mode, c.stamps_per_visit,
    c.unit_satang, c.max_per_purchase, c.tickets, c.welcome_stamps, c.terms, c.validity_mode, c.valid_until,
    c.valid_days, c.version, c.created_at, c.updated_at, c.activated_at, c.suspended_at, c.deleted_at,
    c.reset_done_at, (SELECT s.timezone FROM shops s WHERE s.shop_id = c.shop_id) AS timezone"""
LOCK_SHOP = "SELECT timezone FROM shops WHERE shop_id = %(shop_id)s FOR NO KEY UPDATE"
SHOP_TZ = "SELECT timezone FROM shops WHERE shop_id = %(shop_id)s"
BRANCH_OF_SHOP = "SELECT 1 FROM branches WHERE branch_id = %(branch_id)s AND shop_id = %(shop_id)s"
LIFECYCLE_STATE = """
SELECT (SELECT max(suspended_at) FROM stamp_cards WHERE shop_id = %(shop_id)s) AS last_suspended_at,
       (SELECT card_id FROM stamp_cards WHERE shop_id = %(shop_id)s AND status = 'active') AS active_id
"""
INSERT_CARD = f"""
INSERT INTO stamp_cards AS c (card_id, shop_id, name, stamps_to_fill, rule_mode, stamps_per_visit, unit_satang,
    max_per_purchase, tickets, welcome_stamps, terms, validity_mode, valid_until, valid_days, idempotency_key,
    fingerprint, created_at, updated_at)
VALUES (%(card_id)s, %(shop_id)s, %(name)s, %(stamps_to_fill)s, %(rule_mode)s, %(stamps_per_visit)s,
    %(unit_satang)s, %(max_per_purchase)s, %(tickets)s, %(welcome_stamps)s, %(terms)s, %(validity_mode)s,
    %(valid_until)s, %(valid_days)s, %(idempotency_key)s, %(fingerprint)s, %(now)s, %(now)s)
ON CONFLICT (shop_id, idempotency_key) DO NOTHING
RETURNING {CARD_COLUMNS}
"""
CARD_BY_KEY = f"""SELECT {CARD_COLUMNS}, c.fingerprint FROM stamp_cards c
WHERE c.shop_id = %(shop_id)s AND c.idempotency_key = %(key)s"""
CARD = f"SELECT {CARD_COLUMNS} FROM stamp_cards c WHERE c.shop_id = %(shop_id)s AND c.card_id = %(card_id)s"
CARDS = f"""SELECT {CARD_COLUMNS} FROM stamp_cards c WHERE c.shop_id = %(shop_id)s
AND (%(include_deleted)s OR c.status <> 'deleted') ORDER BY c.created_at DESC"""
UPDATE_CARD = f"""
UPDATE stamp_cards c SET name = %(name)s, stamps_to_fill = %(stamps_to_fill)s, rule_mode = %(rule_mode)s,
    stamps_per_visit = %(stamps_per_visit)s, unit_satang = %(unit_satang)s, max_per_purchase = %(max_per_purchase)s,
    tickets = %(tickets)s, welcome_stamps = %(welcome_stamps)s, terms = %(terms)s,
    validity_mode = %(validity_mode)s, valid_until = %(valid_until)s, valid_days = %(valid_days)s,
    version = version + 1, updated_at = %(now)s
WHERE c.card_id = %(card_id)s RETURNING {CARD_COLUMNS}
"""
SET_STATUS = f"""
UPDATE stamp_cards c SET status = %(status)s, updated_at = %(now)s,
    activated_at = CASE WHEN %(status)s = 'active' THEN %(now)s ELSE activated_at END,
    suspended_at = CASE WHEN %(status)s = 'suspended' THEN %(now)s ELSE suspended_at END,
    deleted_at = CASE WHEN %(status)s = 'deleted' THEN %(now)s ELSE deleted_at END
WHERE c.card_id = %(card_id)s RETURNING {CARD_COLUMNS}
"""
# A new validity applies to members' open cards at once (their stamps are not touched).
MEMBER_EXPIRIES = """
UPDATE stamp_card_members m SET expires_at = CASE
    WHEN %(mode)s = 'date' THEN %(valid_until)s::timestamptz
    WHEN %(mode)s = 'days' THEN ((((m.started_at AT TIME ZONE %(tz)s)::date + %(days)s::int + 1)::timestamp)
                                 AT TIME ZONE %(tz)s)
    END
WHERE m.card_id = %(card_id)s AND m.started_at IS NOT NULL
"""
ACTIVE_CARD = f"SELECT {CARD_COLUMNS} FROM stamp_cards c WHERE c.shop_id = %(shop_id)s AND c.status = 'active'"
LOCK_CARD = "SELECT status FROM stamp_cards WHERE card_id = %(card_id)s FOR UPDATE"
# --- one-time and printed codes --------------------------------------------------------
INSERT_QR = """
INSERT INTO stamp_qrs (qr_id, shop_id, card_id, branch_id, amount_satang, stamps, created_by_type, created_by_id,
                       idempotency_key, fingerprint, created_at, expires_at)
VALUES (%(qr_id)s, %(shop_id)s, %(card_id)s, %(branch_id)s, %(amount_satang)s, %(stamps)s, %(created_by_type)s,
        %(created_by_id)s, %(idempotency_key)s, %(fingerprint)s, %(now)s, %(expires_at)s)
ON CONFLICT (shop_id, idempotency_key) DO NOTHING RETURNING qr_id
"""
QR_COLUMNS = """qr_id, shop_id, card_id, branch_id, amount_satang, stamps, fingerprint, created_at, expires_at,
                claimed_at, claimed_phone"""
QR_BY_KEY = f"SELECT {QR_COLUMNS} FROM stamp_qrs WHERE shop_id = %(shop_id)s AND idempotency_key = %(key)s"
QR = f"SELECT {QR_COLUMNS} FROM stamp_qrs WHERE shop_id = %(shop_id)s AND qr_id = %(qr_id)s"
QR_MINUTES = "SELECT coalesce((SELECT qr_minutes FROM points_settings WHERE shop_id = %(shop_id)s), 10) AS minutes"
SAVE_PRINTED = """
INSERT INTO stamp_printed_qrs (branch_id, shop_id, enabled, stamps, daily_limit)
VALUES (%(branch_id)s, %(shop_id)s, %(enabled)s, %(stamps)s, %(daily_limit)s)
ON CONFLICT (branch_id) DO UPDATE SET enabled = EXCLUDED.enabled, stamps = EXCLUDED.stamps,
    daily_limit = EXCLUDED.daily_limit,
    generation = stamp_printed_qrs.generation + CASE WHEN %(regenerate)s THEN 1 ELSE 0 END, updated_at = now()
RETURNING branch_id, shop_id, enabled, stamps, daily_limit, generation, updated_at
"""
PRINTED = """SELECT branch_id, shop_id, enabled, stamps, daily_limit, generation, updated_at FROM stamp_printed_qrs
WHERE shop_id = %(shop_id)s AND branch_id = %(branch_id)s"""


def lock_shop(conn, shop_id, branch_id=None):
    row = conn.execute(LOCK_SHOP, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise Missing(shop_id, branch_id)
    if branch_id is not None and conn.execute(
            BRANCH_OF_SHOP, {"shop_id": shop_id, "branch_id": branch_id}).fetchone() is None:
        raise Missing(shop_id, branch_id)
    return row["timezone"]


def shop_tz(conn, shop_id):
    row = conn.execute(SHOP_TZ, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise Missing(shop_id)
    return row["timezone"]


def lifecycle_state(conn, shop_id):
    return conn.execute(LIFECYCLE_STATE, {"shop_id": shop_id}).fetchone()


def _design_params(design):
    return {"name": design["name"], "stamps_to_fill": design["stamps_to_fill"], "rule_mode": design["rule"]["mode"],
            "stamps_per_visit": design["rule"]["stamps"], "unit_satang": design["rule"]["per_baht"],
            "max_per_purchase": design["max_per_purchase"],
            "tickets": Jsonb([{"at": t["at"], "reward_id": str(t["reward_id"])} for t in design["tickets"]]),
            "welcome_stamps": design["welcome_stamps"], "terms": design["terms"],
            "validity_mode": design["validity"]["mode"], "valid_until": design["validity"].get("until_at"),
            "valid_days": design["validity"].get("days")}


def insert_card(conn, *, card_id, shop_id, design, key, fingerprint, now):
    return conn.execute(INSERT_CARD, {"card_id": card_id, "shop_id": shop_id, "idempotency_key": key,
                                      "fingerprint": fingerprint, "now": now, **_design_params(design)}).fetchone()


def card_by_key(conn, shop_id, key):
    return conn.execute(CARD_BY_KEY, {"shop_id": shop_id, "key": key}).fetchone()


def card(conn, shop_id, card_id, lock=None):
    """The card, optionally locked: "update" blocks grants in flight (their KEY SHARE), as a
    suspension must; "no_key" serialises changes of the card without blocking grants (an edit of
    the validity also updates member rows, which grants lock first: FOR UPDATE would deadlock)."""
    suffix = {None: "", "update": " FOR UPDATE", "no_key": " FOR NO KEY UPDATE"}[lock]
    found = conn.execute(CARD + suffix, {"shop_id": shop_id, "card_id": card_id}).fetchone()
    if found is None:
        raise stamp_domain.card_not_found(card_id)
    return found


def cards(conn, shop_id, include_deleted):
    return conn.execute(CARDS, {"shop_id": shop_id, "include_deleted": include_deleted}).fetchall()


def update_card(conn, card_id, design, now):
    return conn.execute(UPDATE_CARD, {"card_id": card_id, "now": now, **_design_params(design)}).fetchone()


def set_status(conn, card_id, status, now):
    try:
        return conn.execute(SET_STATUS, {"card_id": card_id, "status": status, "now": now}).fetchone()
    except psycopg.errors.UniqueViolation:
        # another card of the shop became active at the same moment
        raise stamp_domain.active_card_exists("another card") from None


def update_member_expiries(conn, card_id, validity_mode, valid_until, valid_days, tz):
    conn.execute(MEMBER_EXPIRIES, {"card_id": card_id, "mode": validity_mode, "valid_until": valid_until,
                                   "days": valid_days, "tz": tz})


def active_card(conn, shop_id):
    return conn.execute(ACTIVE_CARD, {"shop_id": shop_id}).fetchone()


def lock_card(conn, card_id):
    return conn.execute(LOCK_CARD, {"card_id": card_id}).fetchone()


def insert_qr(conn, **qr):
    return conn.execute(INSERT_QR, qr).fetchone()


def qr_by_key(conn, shop_id, key):
    return conn.execute(QR_BY_KEY, {"shop_id": shop_id, "key": key}).fetchone()


def qr(conn, shop_id, qr_id):
    return conn.execute(QR, {"shop_id": shop_id, "qr_id": qr_id}).fetchone()


def qr_minutes(conn, shop_id):
    return conn.execute(QR_MINUTES, {"shop_id": shop_id}).fetchone()["minutes"]


def save_printed(conn, **printed):
    return conn.execute(SAVE_PRINTED, printed).fetchone()


def printed(conn, shop_id, branch_id):
    return conn.execute(PRINTED, {"shop_id": shop_id, "branch_id": branch_id}).fetchone()
