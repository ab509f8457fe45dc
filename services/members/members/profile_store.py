"""SQL of registration, profiles, consent texts, questions, tags and search."""
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from members import errors

PROFILE_COLUMNS = """
m.member_id, m.shop_id, m.phone, m.status, m.name, m.gender, m.birthday, m.email, m.address, m.line_user_id,
m.consent_version, m.consented_at, m.registered_at, m.registered_via, m.lifetime_points, m.points_balance,
m.sales_count, m.last_sale_at, m.created_at, t.name AS tier
"""
GET_PROFILE = f"""
SELECT {PROFILE_COLUMNS},
       coalesce((SELECT array_agg(tag ORDER BY tag) FROM member_tags g WHERE g.member_id = m.member_id),
                '{{}}') AS tags,
       coalesce((SELECT jsonb_agg(jsonb_build_object('question_id', a.question_id, 'prompt', q.prompt)
                                  || a.answer ORDER BY q.position)
                 FROM answers a JOIN questions q USING (question_id)
                 WHERE a.member_id = m.member_id), '[]') AS answers
FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.member_id = %(member_id)s
"""
LOCK_MEMBER = """
SELECT member_id, shop_id, phone, status, name, gender, birthday, email, address, line_user_id
FROM members WHERE shop_id = %(shop_id)s AND member_id = %(member_id)s FOR UPDATE
"""
# A registration creates the member, or claims the phone-only / imported one of
# that phone (keeping what an import knew when the form leaves it empty); a
# registered (or erased) member is left alone and nothing is returned.
REGISTER = """
INSERT INTO members AS m (member_id, shop_id, phone, status, name, gender, birthday, email, address,
                          line_user_id, consent_version, consented_at, registered_at, registered_via)
VALUES (%(member_id)s, %(shop_id)s, %(phone)s, 'registered', %(name)s, %(gender)s, %(birthday)s, %(email)s,
        %(address)s, %(line_user_id)s, %(consent_version)s, %(at)s, %(at)s, %(via)s)
ON CONFLICT (shop_id, phone) DO UPDATE SET
    status = 'registered',
    name = coalesce(EXCLUDED.name, m.name), gender = coalesce(EXCLUDED.gender, m.gender),
    birthday = coalesce(EXCLUDED.birthday, m.birthday), email = coalesce(EXCLUDED.email, m.email),
    address = coalesce(EXCLUDED.address, m.address),
    line_user_id = coalesce(EXCLUDED.line_user_id, m.line_user_id),
    consent_version = EXCLUDED.consent_version, consented_at = EXCLUDED.consented_at,
    registered_at = EXCLUDED.registered_at, registered_via = EXCLUDED.registered_via, updated_at = now()
WHERE m.status IN ('phone_only', 'imported')
RETURNING member_id, phone, name, line_user_id, registered_at, registered_via, consent_version, (xmax = 0) AS created
"""
INSERT_ANSWERS = """
INSERT INTO answers (member_id, question_id, shop_id, answer, answered_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (member_id, question_id) DO UPDATE SET answer = EXCLUDED.answer, answered_at = EXCLUDED.answered_at
"""
ADD_TAGS = """
INSERT INTO member_tags (member_id, shop_id, tag, added_by)
SELECT %(member_id)s, %(shop_id)s, tag, %(actor)s FROM unnest(%(tags)s::text[]) AS tag
ON CONFLICT (member_id, tag) DO NOTHING
RETURNING tag
"""
REMOVE_TAGS = """
DELETE FROM member_tags WHERE member_id = %(member_id)s AND tag = ANY(%(tags)s::text[]) RETURNING tag
"""
TAGS_OF = "SELECT coalesce(array_agg(tag ORDER BY tag), '{}') FROM member_tags WHERE member_id = %(member_id)s"
INSERT_CHANGE = """
INSERT INTO member_changes (member_id, shop_id, actor, kind, changes)
VALUES (%(member_id)s, %(shop_id)s, %(actor)s, %(kind)s, %(changes)s)
"""
HISTORY = """
SELECT change_id, changed_at, actor, kind, changes FROM member_changes
WHERE member_id = %(member_id)s AND (%(before)s::bigint IS NULL OR change_id < %(before)s)
ORDER BY change_id DESC LIMIT %(limit)s
"""
SHOP_CONSENT = """
SELECT s.shop_id, s.consent_version AS version, c.terms, c.privacy, c.created_at
FROM shops s LEFT JOIN consent_texts c ON c.shop_id = s.shop_id AND c.version = s.consent_version
WHERE s.shop_id = %(shop_id)s
"""
INSERT_CONSENT = """
INSERT INTO consent_texts (shop_id, version, terms, privacy) VALUES (%(shop_id)s, %(version)s, %(terms)s, %(privacy)s)
ON CONFLICT (shop_id, version) DO NOTHING
RETURNING shop_id, version, terms, privacy, created_at
"""
GET_CONSENT = """
SELECT shop_id, version, terms, privacy, created_at FROM consent_texts
WHERE shop_id = %(shop_id)s AND version = %(version)s
"""
LIVE_QUESTIONS = """
SELECT question_id, position, kind, prompt, choices, required FROM questions
WHERE shop_id = %(shop_id)s AND archived_at IS NULL ORDER BY position, created_at
"""
UPSERT_QUESTION = """
INSERT INTO questions (question_id, shop_id, position, kind, prompt, choices, required)
VALUES (%(question_id)s, %(shop_id)s,
        coalesce(%(position)s, (SELECT coalesce(max(position), 0) + 1 FROM questions
                                WHERE shop_id = %(shop_id)s AND archived_at IS NULL)),
        %(kind)s, %(prompt)s, %(choices)s, %(required)s)
ON CONFLICT (question_id) DO UPDATE SET
    position = coalesce(%(position)s, questions.position), kind = EXCLUDED.kind, prompt = EXCLUDED.prompt,
    choices = EXCLUDED.choices, required = EXCLUDED.required
WHERE questions.shop_id = EXCLUDED.shop_id AND questions.archived_at IS NULL
RETURNING question_id, position, kind, prompt, choices, required
"""
ARCHIVE_QUESTION = """
UPDATE questions SET archived_at = coalesce(archived_at, now())
WHERE shop_id = %(shop_id)s AND question_id = %(question_id)s
RETURNING question_id
"""


def _unique_violation(exc):
    name = getattr(exc.diag, "constraint_name", "") or ""
    if "line_user" in name:
        raise errors.line_user_taken() from None
    raise exc


def get_profile(conn, shop_id, member_id):
    row = conn.execute(GET_PROFILE, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    if row is None:
        raise errors.member_id_not_found(member_id)
    return row


def lock_member(conn, shop_id, member_id):
    row = conn.execute(LOCK_MEMBER, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    if row is None:
        raise errors.member_id_not_found(member_id)
    return row


def register(conn, **member):
    """The registered member (created or claimed), or None when the phone is already registered."""
    try:
        with conn.transaction():
            return conn.execute(REGISTER, member).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        _unique_violation(exc)


def save_answers(conn, member_id, shop_id, rows, at):
    if rows:
        with conn.cursor() as cur:
            cur.executemany(INSERT_ANSWERS, [(member_id, qid, shop_id, Jsonb(answer), at) for qid, answer in rows])


def add_tags(conn, shop_id, member_id, tags, actor):
    if not tags:
        return []
    rows = conn.execute(ADD_TAGS, {"member_id": member_id, "shop_id": shop_id, "tags": sorted(tags),
                                   "actor": Jsonb(actor)}).fetchall()
    return sorted(row["tag"] for row in rows)


def remove_tags(conn, member_id, tags):
    rows = conn.execute(REMOVE_TAGS, {"member_id": member_id, "tags": sorted(tags)}).fetchall()
    return sorted(row["tag"] for row in rows)


def tags_of(conn, member_id):
    return list(conn.execute(TAGS_OF, {"member_id": member_id}).fetchone()["coalesce"])


def record_change(conn, shop_id, member_id, actor, kind, changes):
    conn.execute(INSERT_CHANGE, {"member_id": member_id, "shop_id": shop_id, "actor": Jsonb(actor),
                                 "kind": kind, "changes": Jsonb(changes)})


def history(conn, member_id, limit, before):
    return conn.execute(HISTORY, {"member_id": member_id, "limit": limit, "before": before}).fetchall()


def update_profile(conn, shop_id, member_id, values):
    """Set the given profile columns (names come from domain.PROFILE_FIELDS, never from a caller)."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)) for column in values)
    query = sql.SQL("UPDATE members SET {}, updated_at = now() WHERE shop_id = %(shop_id)s "
                    "AND member_id = %(member_id)s").format(assignments)
    try:
        with conn.transaction():
            conn.execute(query, {**values, "shop_id": shop_id, "member_id": member_id})
    except psycopg.errors.UniqueViolation as exc:
        _unique_violation(exc)


def shop_consent(conn, shop_id):
    row = conn.execute(SHOP_CONSENT, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise errors.shop_not_found(shop_id)
    return row


def publish_consent(conn, shop_id, version, terms, privacy):
    """(text, created): the version is created, or an identical one exists; other texts -> 409."""
    params = {"shop_id": shop_id, "version": version, "terms": terms, "privacy": privacy}
    row = conn.execute(INSERT_CONSENT, params).fetchone()
    created = row is not None
    if not created:
        row = conn.execute(GET_CONSENT, params).fetchone()
        if (row["terms"], row["privacy"]) != (terms, privacy):
            raise errors.consent_version_exists(version)
    conn.execute("UPDATE shops SET consent_version = %(version)s WHERE shop_id = %(shop_id)s", params)
    return row, created


def live_questions(conn, shop_id):
    return conn.execute(LIVE_QUESTIONS, {"shop_id": shop_id}).fetchall()


def save_question(conn, question):
    row = conn.execute(UPSERT_QUESTION, {**question, "choices": Jsonb(question["choices"])}).fetchone()
    if row is None:
        raise errors.question_not_found(question["question_id"])
    return row


def archive_question(conn, shop_id, question_id):
    if conn.execute(ARCHIVE_QUESTION, {"shop_id": shop_id, "question_id": question_id}).fetchone() is None:
        raise errors.question_not_found(question_id)


def search(conn, shop_id, *, phone=None, name=None, tag=None, tier=None, status=None, after=None, limit=50):
    """A page of the shop's members matching every given filter, in member_id order (keyset)."""
    where = [sql.SQL("m.shop_id = %(shop_id)s")]
    params = {"shop_id": shop_id, "limit": limit, "after": after}
    if phone:
        where.append(sql.SQL("reverse(m.phone) LIKE %(phone_rev)s"))
        params["phone_rev"] = _like_prefix("".join(reversed(phone)))
    if name:
        where.append(sql.SQL("lower(m.name) LIKE %(name)s"))
        params["name"] = _like_prefix(name.lower())
    if tag:
        where.append(sql.SQL("m.member_id IN (SELECT member_id FROM member_tags WHERE shop_id = %(shop_id)s "
                             "AND tag = %(tag)s)"))
        params["tag"] = tag
    if tier:
        where.append(sql.SQL("t.name = %(tier)s"))
        params["tier"] = tier
    if status:
        where.append(sql.SQL("m.status = %(status)s"))
        params["status"] = status
    if after:
        where.append(sql.SQL("m.member_id > %(after)s"))
    query = sql.SQL("""
SELECT {columns},
       coalesce((SELECT array_agg(tag ORDER BY tag) FROM member_tags g WHERE g.member_id = m.member_id), '{{}}') AS tags
FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE {where} ORDER BY m.member_id LIMIT %(limit)s""").format(
        columns=sql.SQL(PROFILE_COLUMNS), where=sql.SQL(" AND ").join(where))
    return conn.execute(query, params).fetchall()


def _like_prefix(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
