"""SQL of personal-data rights: a member's records for export, erasure, shop cancellation,
answer retention and the purge of a cancelled shop. Raises members' errors, never psycopg's."""
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from members import errors

MEMBER = "SELECT to_jsonb(m) AS record, m.member_id, m.phone, m.status FROM members m WHERE m.shop_id = %(shop_id)s"
MEMBER_BY_ID = MEMBER + " AND m.member_id = %(member_id)s"
MEMBER_BY_PHONE = MEMBER + " AND m.phone = %(phone)s"
LOCK_MEMBER = """
SELECT member_id, shop_id, phone, status, erased_at FROM members
WHERE shop_id = %(shop_id)s AND member_id = %(member_id)s FOR UPDATE
"""
ANSWERS = """
SELECT to_jsonb(a) || jsonb_build_object('question', q.prompt, 'kind', q.kind) AS record
FROM answers a JOIN questions q USING (question_id) WHERE a.member_id = %(member_id)s ORDER BY q.position
"""
TAGS = "SELECT to_jsonb(t) AS record FROM member_tags t WHERE t.member_id = %(member_id)s ORDER BY t.tag"
CHANGES = "SELECT to_jsonb(c) AS record FROM member_changes c WHERE c.member_id = %(member_id)s ORDER BY c.change_id"
TIER = "SELECT to_jsonb(t) AS record FROM tiers t JOIN members m USING (tier_id) WHERE m.member_id = %(member_id)s"
# Tables of other areas that hold rows per member (tier decisions, sign-in tokens, ...):
# the export includes them whatever they are, so that it stays "everything we hold".
MEMBER_TABLES = """
SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = current_schema() AND c.column_name = 'member_id' AND t.table_type = 'BASE TABLE'
  AND c.table_name NOT IN ('members', 'answers', 'member_tags', 'member_changes')
ORDER BY c.table_name
"""
# never part of an export: hashes of sign-in tokens and codes, request fingerprints
SECRET_COLUMNS = ["token_hash", "code_hash", "key_hash", "fingerprint"]
ERASE = """
UPDATE members SET status = 'erased', phone = %(pseudonym)s, name = NULL, gender = NULL, birthday = NULL,
       email = NULL, address = NULL, line_user_id = NULL, erased_at = %(at)s, updated_at = %(at)s
WHERE member_id = %(member_id)s
"""
DELETE_ANSWERS_OF = "DELETE FROM answers WHERE member_id = %(member_id)s"
DELETE_TAGS_OF = "DELETE FROM member_tags WHERE member_id = %(member_id)s"
# What changed and when, and by whom, stays; every old and new value goes (an actor that
# was the member is reduced to its type).
SCRUB_CHANGES = """
UPDATE member_changes SET
    changes = CASE WHEN jsonb_typeof(changes) = 'object'
                   THEN (SELECT coalesce(jsonb_object_agg(key, NULL::jsonb), '{}'::jsonb)
                         FROM jsonb_object_keys(changes) AS key)
                   ELSE '{}'::jsonb END,
    actor = CASE WHEN actor->>'type' = 'member' THEN '{"type": "member"}'::jsonb ELSE actor END
WHERE member_id = %(member_id)s
"""
# Sign-in: the member's tokens stop working; codes sent to the phone are forgotten.
REVOKE_TOKENS = "UPDATE member_tokens SET revoked_at = %(at)s WHERE member_id = %(member_id)s AND revoked_at IS NULL"
DELETE_CODES = "DELETE FROM otp_challenges WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
RECORD_ERASURE = """
INSERT INTO member_changes (member_id, shop_id, changed_at, actor, kind, changes)
VALUES (%(member_id)s, %(shop_id)s, %(at)s, %(actor)s, 'erased', '{}'::jsonb)
"""
SHOP = """
SELECT shop_id, timezone, status, cancelled_at, purged_at, answer_retention_days FROM shops
WHERE shop_id = %(shop_id)s
"""
LOCK_SHOP = SHOP + " FOR UPDATE"
CANCEL_SHOP = "UPDATE shops SET status = 'cancelled', cancelled_at = %(at)s WHERE shop_id = %(shop_id)s"
SET_RETENTION = "UPDATE shops SET answer_retention_days = %(days)s WHERE shop_id = %(shop_id)s"
RETENTION_SHOPS = """
SELECT shop_id, timezone, answer_retention_days FROM shops
WHERE answer_retention_days IS NOT NULL AND purged_at IS NULL ORDER BY shop_id
"""
DELETE_OLD_ANSWERS = """
DELETE FROM answers WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM answers WHERE shop_id = %(shop_id)s AND answered_at < %(before)s LIMIT %(limit)s))
"""
AWAITING_PURGE = """
SELECT shop_id, timezone, cancelled_at FROM shops
WHERE status = 'cancelled' AND purged_at IS NULL ORDER BY cancelled_at, shop_id
"""
# Every table holding rows of a shop (a shop_id column), but the shop itself and the
# chassis tables; the purge empties them all, whatever area made them.
SHOP_TABLES = """
SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = current_schema() AND c.column_name = 'shop_id' AND t.table_type = 'BASE TABLE'
  AND c.table_name NOT IN ('shops', 'outbox', 'inbox', 'idempotency_keys')
ORDER BY c.table_name = 'members' DESC, c.table_name
"""
DELETE_SHOP_CHUNK = "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE shop_id = %s LIMIT %s))"
UNLINK_CONSENT = "UPDATE shops SET consent_version = NULL WHERE shop_id = %(shop_id)s"
MARK_PURGED = "UPDATE shops SET purged_at = %(at)s WHERE shop_id = %(shop_id)s AND purged_at IS NULL RETURNING shop_id"
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(%(name)s)) AS got"
UNLOCK = "SELECT pg_advisory_unlock(hashtext(%(name)s))"


def member_record(conn, shop_id, member_id=None, phone=None):
    """(the member row as JSON, member_id, phone, status) by id or phone, or member_not_found."""
    if member_id is not None:
        row = conn.execute(MEMBER_BY_ID, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    else:
        row = conn.execute(MEMBER_BY_PHONE, {"shop_id": shop_id, "phone": phone}).fetchone()
    if row is None:
        raise errors.privacy_member_not_found(member_id or phone)
    return row


def member_records(conn, member_id):
    """Everything held per member beyond the member row: answers, tags, change history, tier,
    and the rows of any other table keyed by member_id (by table name)."""
    params = {"member_id": member_id, "secrets": SECRET_COLUMNS}

    def records(query):
        return [row["record"] for row in conn.execute(query, params)]

    tier = records(TIER)
    others = {}
    for row in conn.execute(MEMBER_TABLES).fetchall():
        query = sql.SQL("SELECT to_jsonb(x) - %(secrets)s::text[] AS record FROM {} x "
                        "WHERE x.member_id = %(member_id)s").format(sql.Identifier(row["table_name"]))
        others[row["table_name"]] = records(query)
    return {"answers": records(ANSWERS), "tags": records(TAGS), "changes": records(CHANGES),
            "tier": tier[0] if tier else None, "other": others}


def lock_member(conn, shop_id, member_id):
    row = conn.execute(LOCK_MEMBER, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    if row is None:
        raise errors.privacy_member_not_found(member_id)
    return row


def erase(conn, shop_id, member_id, phone, pseudonym, actor, at):
    """Remove the member's personal fields, answers and tags, scrub their change history, end
    their sign-ins."""
    params = {"shop_id": shop_id, "member_id": member_id, "phone": phone, "pseudonym": pseudonym, "at": at,
              "actor": Jsonb(actor)}
    conn.execute(ERASE, params)
    conn.execute(DELETE_ANSWERS_OF, params)
    conn.execute(DELETE_TAGS_OF, params)
    conn.execute(SCRUB_CHANGES, params)
    conn.execute(REVOKE_TOKENS, params)
    conn.execute(DELETE_CODES, params)
    conn.execute(RECORD_ERASURE, params)


def shop(conn, shop_id, lock=False):
    row = conn.execute(LOCK_SHOP if lock else SHOP, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise errors.shop_not_found(shop_id)
    return row


def cancel_shop(conn, shop_id, at):
    conn.execute(CANCEL_SHOP, {"shop_id": shop_id, "at": at})


def set_answer_retention(conn, shop_id, days):
    conn.execute(SET_RETENTION, {"shop_id": shop_id, "days": days})


def retention_shops(conn):
    return conn.execute(RETENTION_SHOPS).fetchall()


def delete_old_answers(conn, shop_id, before, limit):
    return conn.execute(DELETE_OLD_ANSWERS, {"shop_id": shop_id, "before": before, "limit": limit}).rowcount


def awaiting_purge(conn):
    return conn.execute(AWAITING_PURGE).fetchall()


def shop_tables(conn):
    return [row["table_name"] for row in conn.execute(SHOP_TABLES)]


def delete_shop_chunk(conn, table, shop_id, limit):
    """Delete up to `limit` rows of the shop from `table`; None if other rows still refer to them."""
    query = sql.SQL(DELETE_SHOP_CHUNK).format(table=sql.Identifier(table))
    try:
        with conn.transaction():
            return conn.execute(query, (shop_id, limit)).rowcount
    except psycopg.errors.ForeignKeyViolation:
        return None


def unlink_consent(conn, shop_id):
    conn.execute(UNLINK_CONSENT, {"shop_id": shop_id})


def mark_purged(conn, shop_id, at):
    return conn.execute(MARK_PURGED, {"shop_id": shop_id, "at": at}).fetchone() is not None


def try_lock(conn, name):
    """A session-level advisory lock: one run of a job at a time across replicas."""
    return conn.execute(TRY_LOCK, {"name": name}).fetchone()["got"]


def unlock(conn, name):
    conn.execute(UNLOCK, {"name": name})
