"""SQL of the notifier (psycopg 3, dict rows)."""
from psycopg.types.json import Jsonb

SHOP = "SELECT * FROM shop_channels WHERE shop_id = %(shop_id)s"
UPSERT_SHOP = """
INSERT INTO shop_channels (shop_id, line_token, sms_enabled, sms_provider, sms_sender, sms_credentials, timezone,
    language, quiet_start, quiet_end, shop_name)
VALUES (%(shop_id)s, %(line_token)s, %(sms_enabled)s, %(sms_provider)s, %(sms_sender)s, %(sms_credentials)s,
    %(timezone)s, %(language)s, %(quiet_start)s, %(quiet_end)s, %(shop_name)s)
ON CONFLICT (shop_id) DO UPDATE SET line_token = EXCLUDED.line_token, sms_enabled = EXCLUDED.sms_enabled,
    sms_provider = EXCLUDED.sms_provider, sms_sender = EXCLUDED.sms_sender,
    sms_credentials = EXCLUDED.sms_credentials, timezone = EXCLUDED.timezone, language = EXCLUDED.language,
    quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, shop_name = EXCLUDED.shop_name,
    updated_at = now()
RETURNING *
"""
CONTACT = "SELECT * FROM contacts WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
CONTACTS = "SELECT * FROM contacts WHERE shop_id = %(shop_id)s AND phone = ANY(%(phones)s)"
UPSERT_CONTACT = """
INSERT INTO contacts (shop_id, phone, name, language, line_user_id, line_blocked, opt_out_marketing,
    opt_out_transactional)
VALUES (%(shop_id)s, %(phone)s, %(name)s, %(language)s, %(line_user_id)s, %(line_blocked)s, %(opt_out_marketing)s,
    %(opt_out_transactional)s)
ON CONFLICT (shop_id, phone) DO UPDATE SET name = EXCLUDED.name, language = EXCLUDED.language,
    line_user_id = EXCLUDED.line_user_id, line_blocked = EXCLUDED.line_blocked,
    opt_out_marketing = EXCLUDED.opt_out_marketing, opt_out_transactional = EXCLUDED.opt_out_transactional,
    updated_at = now()
RETURNING *
"""
TEMPLATE = """SELECT body FROM templates WHERE shop_id = %(shop_id)s AND trigger = %(trigger)s
AND language = %(language)s"""
UPSERT_TEMPLATE = """
INSERT INTO templates (shop_id, trigger, language, body) VALUES (%(shop_id)s, %(trigger)s, %(language)s, %(body)s)
ON CONFLICT (shop_id, trigger, language) DO UPDATE SET body = EXCLUDED.body, updated_at = now()
"""
MESSAGE_COLUMNS = """message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id, channel, recipient, body,
    status, reason, attempts, next_attempt_at, provider_id, sms_parts, created_at, sent_at"""
INSERT_MESSAGE = f"""
INSERT INTO messages (message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id, channel, recipient, body,
    status, reason, next_attempt_at, sms_parts)
VALUES (%(message_id)s, %(shop_id)s, %(phone)s, %(trigger)s, %(kind)s, %(dedupe_key)s, %(campaign_id)s, %(channel)s,
    %(recipient)s, %(body)s, %(status)s, %(reason)s, %(next_attempt_at)s, %(sms_parts)s)
ON CONFLICT (shop_id, dedupe_key) DO NOTHING
RETURNING {MESSAGE_COLUMNS}
"""
# Claim due messages: each claimed one is leased (its next attempt moved ahead) so another
# sender skips it; a sender that dies mid-send leaves it to be tried again after the lease
# (LINE's retry key keeps that from delivering twice).
CLAIM_DUE = f"""
WITH due AS (
    SELECT message_id FROM messages WHERE status = 'queued' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE messages m SET attempts = m.attempts + 1, next_attempt_at = %(now)s + make_interval(secs => %(lease)s)
FROM due WHERE m.message_id = due.message_id
RETURNING {", ".join("m." + c.strip() for c in MESSAGE_COLUMNS.split(","))}
"""
SETTLE = f"""
UPDATE messages SET status = %(status)s, reason = %(reason)s, provider_id = %(provider_id)s,
    next_attempt_at = %(next_attempt_at)s, sent_at = CASE WHEN %(status)s = 'sent' THEN %(now)s END
WHERE message_id = %(message_id)s AND status = 'queued'
RETURNING {MESSAGE_COLUMNS}
"""
RESEND = f"""
UPDATE messages SET status = 'queued', reason = NULL, attempts = 0, next_attempt_at = %(now)s
WHERE shop_id = %(shop_id)s AND message_id = %(message_id)s AND status = 'failed'
RETURNING {MESSAGE_COLUMNS}
"""
MESSAGE = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE shop_id = %(shop_id)s AND message_id = %(message_id)s"
MESSAGES = f"""SELECT {MESSAGE_COLUMNS} FROM messages WHERE shop_id = %(shop_id)s
AND (%(phone)s::text IS NULL OR phone = %(phone)s) AND (%(campaign_id)s::text IS NULL OR campaign_id = %(campaign_id)s)
AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY created_at DESC, message_id LIMIT %(limit)s"""


def shop(conn, shop_id):
    return conn.execute(SHOP, {"shop_id": shop_id}).fetchone()


def save_shop(conn, **row):
    row["sms_credentials"] = Jsonb(row["sms_credentials"]) if row.get("sms_credentials") is not None else None
    return conn.execute(UPSERT_SHOP, row).fetchone()


def contact(conn, shop_id, phone):
    return conn.execute(CONTACT, {"shop_id": shop_id, "phone": phone}).fetchone()


def contacts(conn, shop_id, phones):
    return {row["phone"]: row for row in conn.execute(CONTACTS, {"shop_id": shop_id, "phones": list(phones)})}


def save_contact(conn, **row):
    return conn.execute(UPSERT_CONTACT, row).fetchone()


def template(conn, shop_id, trigger, language):
    row = conn.execute(TEMPLATE, {"shop_id": shop_id, "trigger": trigger, "language": language}).fetchone()
    return row["body"] if row else None


def save_template(conn, shop_id, trigger, language, body):
    conn.execute(UPSERT_TEMPLATE, {"shop_id": shop_id, "trigger": trigger, "language": language, "body": body})


def insert_message(conn, **row):
    return conn.execute(INSERT_MESSAGE, row).fetchone()


def claim_due(conn, now, limit, lease):
    return conn.execute(CLAIM_DUE, {"now": now, "limit": limit, "lease": lease}).fetchall()


def settle(conn, message_id, status, now, reason=None, provider_id=None, next_attempt_at=None):
    return conn.execute(SETTLE, {"message_id": message_id, "status": status, "now": now, "reason": reason,
                                 "provider_id": provider_id, "next_attempt_at": next_attempt_at}).fetchone()


def resend(conn, shop_id, message_id, now):
    return conn.execute(RESEND, {"shop_id": shop_id, "message_id": message_id, "now": now}).fetchone()


def message(conn, shop_id, message_id):
    return conn.execute(MESSAGE, {"shop_id": shop_id, "message_id": message_id}).fetchone()


def messages(conn, shop_id, phone=None, campaign_id=None, status=None, limit=100):
    return conn.execute(MESSAGES, {"shop_id": shop_id, "phone": phone, "campaign_id": campaign_id,
                                   "status": status, "limit": limit}).fetchall()
