"""SQL of the notifier (psycopg 3, dict rows)."""
from psycopg.types.json import Jsonb

SHOP = "SELECT * FROM shop_channels WHERE shop_id = %(shop_id)s"
UPSERT_SHOP = """
INSERT INTO shop_channels (shop_id, line_token, sms_enabled, sms_provider, sms_sender, sms_credentials, timezone,
    language, quiet_start, quiet_end, shop_name, member_page_url)
VALUES (%(shop_id)s, %(line_token)s, %(sms_enabled)s, %(sms_provider)s, %(sms_sender)s, %(sms_credentials)s,
    %(timezone)s, %(language)s, %(quiet_start)s, %(quiet_end)s, %(shop_name)s, %(member_page_url)s)
ON CONFLICT (shop_id) DO UPDATE SET line_token = EXCLUDED.line_token, sms_enabled = EXCLUDED.sms_enabled,
    sms_provider = EXCLUDED.sms_provider, sms_sender = EXCLUDED.sms_sender,
    sms_credentials = EXCLUDED.sms_credentials, timezone = EXCLUDED.timezone, language = EXCLUDED.language,
    quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, shop_name = EXCLUDED.shop_name,
    member_page_url = EXCLUDED.member_page_url, updated_at = now()
RETURNING *
"""
CONTACT = "SELECT * FROM contacts WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
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
    flex, status, reason, attempts, next_attempt_at, provider_id, sms_parts, created_at, sent_at, delivered_at"""
INSERT_MESSAGE = f"""
INSERT INTO messages (message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id, channel, recipient, body,
    flex, status, reason, next_attempt_at, sms_parts)
VALUES (%(message_id)s, %(shop_id)s, %(phone)s, %(trigger)s, %(kind)s, %(dedupe_key)s, %(campaign_id)s, %(channel)s,
    %(recipient)s, %(body)s, %(flex)s, %(status)s, %(reason)s, %(next_attempt_at)s, %(sms_parts)s)
ON CONFLICT (shop_id, dedupe_key) DO NOTHING
RETURNING {MESSAGE_COLUMNS}
"""
# Claim due messages: each claimed one is leased (its next attempt moved ahead) so another
# sender skips it; a sender that dies mid-send leaves it to be tried again after the lease
# (LINE's retry key keeps that from delivering twice).
# Rate limits: a claim takes at most `per_shop` messages of one shop and `line` / `sms` of one
# channel (the sender claims once a second: these are per second, per sender replica).
CLAIM_DUE = f"""
WITH by_shop AS (
    SELECT message_id, next_attempt_at, channel,
           row_number() OVER (PARTITION BY shop_id ORDER BY next_attempt_at, message_id) AS shop_rank
    FROM messages WHERE status = 'queued' AND batch_id IS NULL AND next_attempt_at <= %(now)s
), ranked AS (
    SELECT message_id, next_attempt_at, channel,
           row_number() OVER (PARTITION BY channel ORDER BY next_attempt_at, message_id) AS channel_rank
    FROM by_shop WHERE shop_rank <= %(per_shop)s
), due AS (
    SELECT m.message_id FROM messages m JOIN ranked r USING (message_id)
    WHERE r.channel_rank <= CASE r.channel WHEN 'line' THEN %(line)s ELSE %(sms)s END
      AND m.status = 'queued' AND m.batch_id IS NULL AND m.next_attempt_at <= %(now)s  -- re-checked on the locked row
    ORDER BY r.next_attempt_at LIMIT %(limit)s FOR UPDATE OF m SKIP LOCKED
)
UPDATE messages m SET attempts = m.attempts + 1, next_attempt_at = %(now)s + make_interval(secs => %(lease)s)
FROM due WHERE m.message_id = due.message_id
RETURNING {", ".join("m." + c.strip() for c in MESSAGE_COLUMNS.split(","))}
"""
SETTLE = f"""
UPDATE messages SET status = %(status)s, reason = %(reason)s, provider_id = %(provider_id)s,
    next_attempt_at = %(next_attempt_at)s, sent_at = CASE WHEN %(status)s = 'sent' THEN %(now)s END
WHERE message_id = %(message_id)s AND status = 'queued' AND attempts = %(attempts)s  -- still this claim's
RETURNING {MESSAGE_COLUMNS}
"""
RESEND = f"""
UPDATE messages SET status = 'queued', reason = NULL, attempts = 0, next_attempt_at = %(now)s, batch_id = NULL
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


def save_contact(conn, **row):
    return conn.execute(UPSERT_CONTACT, row).fetchone()


def template(conn, shop_id, trigger, language):
    row = conn.execute(TEMPLATE, {"shop_id": shop_id, "trigger": trigger, "language": language}).fetchone()
    return row["body"] if row else None


def save_template(conn, shop_id, trigger, language, body):
    conn.execute(UPSERT_TEMPLATE, {"shop_id": shop_id, "trigger": trigger, "language": language, "body": body})


def insert_message(conn, **row):
    row["flex"] = Jsonb(row["flex"]) if row.get("flex") is not None else None
    return conn.execute(INSERT_MESSAGE, row).fetchone()


# A batch of messages (the event triggers): its reads keyed by the shop id as the caller gave
# it (text, parsed by PostgreSQL as the single reads do), its rows in one INSERT of arrays.
SHOPS = """SELECT k.shop_key, s.* FROM unnest(%(shop_ids)s::text[]) AS k (shop_key)
JOIN shop_channels s ON s.shop_id = k.shop_key::uuid"""
CONTACTS = """SELECT k.shop_key, c.* FROM unnest(%(shop_ids)s::text[], %(phones)s::text[]) AS k (shop_key, phone)
JOIN contacts c ON c.shop_id = k.shop_key::uuid AND c.phone = k.phone"""
TEMPLATES = """SELECT k.shop_key, k.trigger, k.language, t.body
FROM unnest(%(shop_ids)s::text[], %(triggers)s::text[], %(languages)s::text[]) AS k (shop_key, trigger, language)
JOIN templates t ON t.shop_id = k.shop_key::uuid AND t.trigger = k.trigger AND t.language = k.language"""
INSERT_MESSAGES = f"""
INSERT INTO messages (message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id, channel, recipient, body,
    flex, status, reason, next_attempt_at, sms_parts, created_at)
-- created_at one microsecond apart in the batch's order: a member's messages list and send in
-- the order of their events, as they did with a transaction each
SELECT m.message_id, m.shop_id, m.phone, m.trigger, m.kind, m.dedupe_key, m.campaign_id, m.channel, m.recipient,
       m.body, m.flex, m.status, m.reason, m.next_attempt_at, m.sms_parts, now() + (m.n - 1) * interval '1 microsecond'
FROM unnest(%(message_id)s::uuid[], %(shop_id)s::text[]::uuid[], %(phone)s::text[], %(trigger)s::text[],
    %(kind)s::text[], %(dedupe_key)s::text[], %(campaign_id)s::text[], %(channel)s::text[], %(recipient)s::text[],
    %(body)s::text[], %(flex)s::jsonb[], %(status)s::text[], %(reason)s::text[], %(next_attempt_at)s::timestamptz[],
    %(sms_parts)s::int[]) WITH ORDINALITY AS m (message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id,
    channel, recipient, body, flex, status, reason, next_attempt_at, sms_parts, n)
ON CONFLICT (shop_id, dedupe_key) DO NOTHING
RETURNING {MESSAGE_COLUMNS}
"""
# The latest tier of each member of a batch (the last event of a member wins, as one by one).
SET_TIERS = """
INSERT INTO contacts (shop_id, phone, tier)
SELECT DISTINCT ON (k.shop_id, k.phone) k.shop_id, k.phone, k.tier
FROM unnest(%(shop_ids)s::text[]::uuid[], %(phones)s::text[], %(tiers)s::text[])
    WITH ORDINALITY AS k (shop_id, phone, tier, n)
ORDER BY k.shop_id, k.phone, k.n DESC
ON CONFLICT (shop_id, phone) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()
"""
MESSAGE_FIELDS = ("message_id", "shop_id", "phone", "trigger", "kind", "dedupe_key", "campaign_id", "channel",
                  "recipient", "body", "flex", "status", "reason", "next_attempt_at", "sms_parts")


def shops(conn, shop_ids):
    """{shop id as given: row} of the shops that set their channels."""
    rows = conn.execute(SHOPS, {"shop_ids": list(shop_ids)}).fetchall()
    return {row.pop("shop_key"): row for row in rows}


def contacts(conn, keys):
    """{(shop id as given, phone): row} of the known contacts among `keys`."""
    keys = list(keys)
    rows = conn.execute(CONTACTS, {"shop_ids": [k[0] for k in keys], "phones": [k[1] for k in keys]}).fetchall()
    return {(row.pop("shop_key"), row["phone"]): row for row in rows}


def templates_for(conn, keys):
    """{(shop id as given, trigger, language): body} of the shop templates among `keys`."""
    keys = list(keys)
    rows = conn.execute(TEMPLATES, {"shop_ids": [k[0] for k in keys], "triggers": [k[1] for k in keys],
                                    "languages": [k[2] for k in keys]}).fetchall()
    return {(row["shop_key"], row["trigger"], row["language"]): row["body"] for row in rows}


def insert_messages(conn, rows):
    """Every row in one statement; a (shop, dedupe key) recorded before is skipped. The rows written."""
    if not rows:
        return []
    params = {field: [row[field] for row in rows] for field in MESSAGE_FIELDS}
    params["shop_id"] = [None if v is None else str(v) for v in params["shop_id"]]
    params["flex"] = [None if v is None else Jsonb(v) for v in params["flex"]]
    return conn.execute(INSERT_MESSAGES, params).fetchall()


def set_tiers(conn, tiers):
    """tiers: (shop_id, phone, tier) in event order."""
    tiers = list(tiers)
    if tiers:
        conn.execute(SET_TIERS, {"shop_ids": [None if t[0] is None else str(t[0]) for t in tiers],
                                 "phones": [t[1] for t in tiers], "tiers": [t[2] for t in tiers]})


DELIVERED = f"""
UPDATE messages SET status = %(status)s, reason = coalesce(%(reason)s, reason),
    delivered_at = CASE WHEN %(status)s = 'delivered' THEN %(at)s END
WHERE shop_id = %(shop_id)s AND message_id = %(message_id)s AND status IN ('sent', 'delivered')
RETURNING {MESSAGE_COLUMNS}
"""


def record_delivery(conn, shop_id, message_id, status, at, reason=None):
    """A provider's delivery report for a sent message (delivered, or failed after all)."""
    return conn.execute(DELIVERED, {"shop_id": shop_id, "message_id": message_id, "status": status, "at": at,
                                    "reason": reason}).fetchone()


def claim_due(conn, now, limit, lease, rates):
    return conn.execute(CLAIM_DUE, {"now": now, "limit": limit, "lease": lease, **rates}).fetchall()


def settle(conn, message_id, status, now, attempts, reason=None, provider_id=None, next_attempt_at=None):
    """Record a send's result, if the message is still this claim's (same attempts count)."""
    return conn.execute(SETTLE, {"message_id": message_id, "status": status, "now": now, "reason": reason,
                                 "provider_id": provider_id, "next_attempt_at": next_attempt_at,
                                 "attempts": attempts}).fetchone()


def resend(conn, shop_id, message_id, now):
    return conn.execute(RESEND, {"shop_id": shop_id, "message_id": message_id, "now": now}).fetchone()


def message(conn, shop_id, message_id):
    return conn.execute(MESSAGE, {"shop_id": shop_id, "message_id": message_id}).fetchone()


def messages(conn, shop_id, phone=None, campaign_id=None, status=None, limit=100):
    return conn.execute(MESSAGES, {"shop_id": shop_id, "phone": phone, "campaign_id": campaign_id,
                                   "status": status, "limit": limit}).fetchall()


# --- campaigns --------------------------------------------------------------------

ENQUEUE_CAMPAIGN = """
WITH input AS (SELECT DISTINCT unnest(%(phones)s::text[]) AS phone),
chosen AS (
    SELECT i.phone, c.line_user_id,
           CASE WHEN c.opt_out_marketing THEN 'none'
                WHEN c.line_user_id IS NOT NULL AND NOT c.line_blocked AND %(line)s THEN 'line'
                WHEN %(sms)s THEN 'sms' ELSE 'none' END AS channel,
           CASE WHEN c.opt_out_marketing THEN 'opted out of marketing messages'
                WHEN c.line_user_id IS NOT NULL AND NOT c.line_blocked AND %(line)s THEN NULL
                WHEN %(sms)s THEN NULL ELSE 'no LINE link and the shop has not enabled SMS' END AS reason
    FROM input i LEFT JOIN contacts c ON c.shop_id = %(shop_id)s AND c.phone = i.phone
)
INSERT INTO messages (message_id, shop_id, phone, trigger, kind, dedupe_key, campaign_id, channel, recipient, body,
    status, reason, next_attempt_at, sms_parts)
SELECT gen_random_uuid(), %(shop_id)s, phone, 'campaign', 'marketing', 'campaign:' || %(campaign_id)s || ':' || phone,
       %(campaign_id)s, channel, CASE channel WHEN 'line' THEN line_user_id WHEN 'sms' THEN phone END, %(body)s,
       CASE WHEN channel = 'none' THEN 'skipped' ELSE 'queued' END, reason,
       CASE WHEN channel = 'none' THEN NULL ELSE %(send_at)s::timestamptz END,
       CASE WHEN channel = 'sms' THEN %(sms_parts)s::int END
FROM chosen
ON CONFLICT (shop_id, dedupe_key) DO NOTHING
RETURNING channel
"""
UNBATCHED = """SELECT message_id, recipient FROM messages WHERE shop_id = %(shop_id)s AND campaign_id = %(campaign_id)s
AND channel = 'line' AND status = 'queued' AND batch_id IS NULL ORDER BY message_id"""
SET_BATCHES = """
UPDATE messages m SET batch_id = b.batch_id
FROM unnest(%(message_ids)s::uuid[], %(batch_ids)s::uuid[]) AS b (message_id, batch_id)
WHERE m.message_id = b.message_id
"""
INSERT_BATCH = """
INSERT INTO line_batches (batch_id, shop_id, campaign_id, body, recipients, next_attempt_at)
VALUES (%(batch_id)s, %(shop_id)s, %(campaign_id)s, %(body)s, %(recipients)s, %(send_at)s)
"""
CLAIM_BATCHES = """
WITH due AS (
    SELECT batch_id FROM line_batches WHERE status = 'queued' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE line_batches b SET attempts = b.attempts + 1, next_attempt_at = %(now)s + make_interval(secs => %(lease)s)
FROM due WHERE b.batch_id = due.batch_id
RETURNING b.*
"""
SETTLE_BATCH = """
UPDATE line_batches SET status = %(status)s, reason = %(reason)s, next_attempt_at = %(next_attempt_at)s,
    sent_at = CASE WHEN %(status)s = 'sent' THEN %(now)s END
WHERE batch_id = %(batch_id)s AND status = 'queued' AND attempts = %(attempts)s
RETURNING batch_id
"""
SETTLE_BATCH_MESSAGES = f"""
UPDATE messages SET status = %(status)s, reason = %(reason)s, provider_id = %(provider_id)s,
    attempts = %(attempts)s, sent_at = CASE WHEN %(status)s = 'sent' THEN %(now)s END
WHERE batch_id = %(batch_id)s AND status = 'queued'
RETURNING {MESSAGE_COLUMNS}
"""


def enqueue_campaign(conn, **params):
    return [row["channel"] for row in conn.execute(ENQUEUE_CAMPAIGN, params)]


def unbatched(conn, shop_id, campaign_id):
    return conn.execute(UNBATCHED, {"shop_id": shop_id, "campaign_id": campaign_id}).fetchall()


def add_batches(conn, batches, assignments):
    with conn.cursor() as cur:
        cur.executemany(INSERT_BATCH, batches)
    conn.execute(SET_BATCHES, {"message_ids": [m for m, _ in assignments], "batch_ids": [b for _, b in assignments]})


def claim_batches(conn, now, limit, lease):
    return conn.execute(CLAIM_BATCHES, {"now": now, "limit": limit, "lease": lease}).fetchall()


def settle_batch(conn, batch_id, status, now, attempts, reason=None, provider_id=None, next_attempt_at=None):
    if conn.execute(SETTLE_BATCH, {"batch_id": batch_id, "status": status, "now": now, "reason": reason,
                                   "next_attempt_at": next_attempt_at, "attempts": attempts}).fetchone() is None:
        return []
    if status == "queued":
        return []
    return conn.execute(SETTLE_BATCH_MESSAGES, {"batch_id": batch_id, "status": status, "now": now,
                                                "reason": reason, "provider_id": provider_id,
                                                "attempts": attempts}).fetchall()
