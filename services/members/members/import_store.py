"""SQL of member imports and exports: uploaded parts, import jobs (lease, progress), members
written set-based from a chunk of rows, and keyset pages of a shop's members and tier history."""
from psycopg.types.json import Jsonb

from members import errors

PUT_PART = """
INSERT INTO import_uploads (upload_id, part, shop_id, data) VALUES (%(upload_id)s, %(part)s, %(shop_id)s, %(data)s)
ON CONFLICT (upload_id, part) DO UPDATE SET data = EXCLUDED.data WHERE import_uploads.shop_id = EXCLUDED.shop_id
"""
PARTS = "SELECT part, data FROM import_uploads WHERE upload_id = %(upload_id)s AND shop_id = %(shop_id)s ORDER BY part"
DROP_PARTS = "DELETE FROM import_uploads WHERE upload_id = %(upload_id)s"
PURGE_PARTS = "DELETE FROM import_uploads WHERE created_at < %(before)s"
IMPORT_COLUMNS = """import_id, shop_id, branch_id, file_sha256, filename, format, actor, status, total, processed,
                    imported, rejected, points_credited, failure, attempts, created_at, started_at, finished_at"""
INSERT_IMPORT = f"""
INSERT INTO imports (import_id, shop_id, branch_id, file_sha256, filename, format, actor, total, status, lease_owner,
                     lease_until, attempts, started_at)
VALUES (%(import_id)s, %(shop_id)s, %(branch_id)s, %(file_sha256)s, %(filename)s, %(format)s, %(actor)s, %(total)s,
        CASE WHEN %(owner)s::text IS NULL THEN 'queued' ELSE 'running' END, %(owner)s,
        CASE WHEN %(owner)s::text IS NULL THEN NULL ELSE now() + make_interval(secs => %(lease)s) END,
        CASE WHEN %(owner)s::text IS NULL THEN 0 ELSE 1 END,
        CASE WHEN %(owner)s::text IS NULL THEN NULL ELSE now() END)
ON CONFLICT (shop_id, file_sha256) DO NOTHING
RETURNING {IMPORT_COLUMNS}
"""
INSERT_FILE = """
INSERT INTO import_files (import_id, data) VALUES (%(import_id)s, %(data)s)
ON CONFLICT (import_id) DO NOTHING
"""
# A failed import (points down for long, a bug since fixed) is tried again when its file comes again.
RETRY = f"""
UPDATE imports SET status = CASE WHEN %(owner)s::text IS NULL THEN 'queued' ELSE 'running' END,
                   lease_owner = %(owner)s,
                   lease_until = CASE WHEN %(owner)s::text IS NULL THEN NULL
                                      ELSE now() + make_interval(secs => %(lease)s) END,
                   attempts = CASE WHEN %(owner)s::text IS NULL THEN 0 ELSE 1 END,
                   failure = NULL, finished_at = NULL
WHERE import_id = %(import_id)s AND status = 'failed'
RETURNING {IMPORT_COLUMNS}
"""
BY_HASH = f"SELECT {IMPORT_COLUMNS} FROM imports WHERE shop_id = %(shop_id)s AND file_sha256 = %(file_sha256)s"
GET_IMPORT = f"SELECT {IMPORT_COLUMNS} FROM imports WHERE shop_id = %(shop_id)s AND import_id = %(import_id)s"
LIST_IMPORTS = f"""
SELECT {IMPORT_COLUMNS} FROM imports WHERE shop_id = %(shop_id)s ORDER BY created_at DESC LIMIT %(limit)s
"""
FILE = "SELECT data FROM import_files WHERE import_id = %(import_id)s"
# A queued job, or a running one whose worker stopped renewing its lease (a crash, a restart).
CLAIM = f"""
UPDATE imports SET status = 'running', lease_owner = %(owner)s,
                   lease_until = %(as_of)s + make_interval(secs => %(lease)s), attempts = attempts + 1,
                   started_at = coalesce(started_at, %(as_of)s)
WHERE import_id = (
    SELECT import_id FROM imports
    WHERE (status = 'queued' OR (status = 'running' AND lease_until < %(as_of)s))
      AND (%(import_id)s::uuid IS NULL OR import_id = %(import_id)s::uuid)
    ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING {IMPORT_COLUMNS}
"""
# A chunk's progress, committed with the chunk; only by the lease holder, from where it left off.
PROGRESS = """
UPDATE imports SET processed = processed + %(rows)s, imported = imported + %(imported)s,
                   rejected = rejected + %(rejected)s, points_credited = points_credited + %(points)s,
                   lease_until = greatest(lease_until, now() + make_interval(secs => %(lease)s))
WHERE import_id = %(import_id)s AND lease_owner = %(owner)s AND processed = %(processed)s
RETURNING processed
"""
FINISH = f"""
UPDATE imports SET status = %(status)s, failure = %(failure)s, finished_at = now(), lease_owner = NULL,
                   lease_until = NULL
WHERE import_id = %(import_id)s AND lease_owner = %(owner)s
RETURNING {IMPORT_COLUMNS}
"""
DROP_FILE = "DELETE FROM import_files WHERE import_id = %(import_id)s"
INSERT_ERRORS = """
INSERT INTO import_errors (import_id, row_no, column_name, reason)
SELECT %(import_id)s, * FROM unnest(%(rows)s::int[], %(columns)s::text[], %(reasons)s::text[])
ON CONFLICT DO NOTHING
"""
ERRORS = """
SELECT row_no, column_name, reason FROM import_errors
WHERE import_id = %(import_id)s AND row_no > %(after_row)s ORDER BY row_no, column_name LIMIT %(limit)s
"""
ERROR_COUNT = "SELECT count(*) AS n FROM import_errors WHERE import_id = %(import_id)s"
# The members of a chunk, in phone order (two writers then lock rows in the same order).
# A new phone, or a phone-only member, becomes an imported member with the file's
# fields; an imported member takes the file's non-empty cells; a registered (or
# erased) member's profile is left as the member gave it. (xmax = 0): a new row.
UPSERT_MEMBERS = """
WITH incoming AS (
    SELECT * FROM unnest(%(member_ids)s::uuid[], %(phones)s::text[], %(names)s::text[], %(genders)s::text[],
                         %(birthdays)s::date[], %(emails)s::text[])
        AS i (member_id, phone, name, gender, birthday, email)
), written AS (
    INSERT INTO members AS m (member_id, shop_id, phone, status, name, gender, birthday, email, registered_via)
    SELECT member_id, %(shop_id)s, phone, 'imported', name, gender, birthday, email, 'import'
    FROM incoming ORDER BY phone
    ON CONFLICT (shop_id, phone) DO UPDATE SET
        status         = CASE WHEN m.status IN ('phone_only', 'imported') THEN 'imported' ELSE m.status END,
        registered_via = CASE WHEN m.status = 'phone_only' THEN 'import' ELSE m.registered_via END,
        name     = CASE WHEN m.status IN ('phone_only', 'imported') THEN coalesce(EXCLUDED.name, m.name)
                        ELSE m.name END,
        gender   = CASE WHEN m.status IN ('phone_only', 'imported') THEN coalesce(EXCLUDED.gender, m.gender)
                        ELSE m.gender END,
        birthday = CASE WHEN m.status IN ('phone_only', 'imported') THEN coalesce(EXCLUDED.birthday, m.birthday)
                        ELSE m.birthday END,
        email    = CASE WHEN m.status IN ('phone_only', 'imported') THEN coalesce(EXCLUDED.email, m.email)
                        ELSE m.email END,
        updated_at = now()
    RETURNING m.member_id, m.phone, m.status, (xmax = 0) AS created
), history AS (
    INSERT INTO member_changes (member_id, shop_id, actor, kind, changes)
    SELECT w.member_id, %(shop_id)s, %(actor)s, 'updated',
           jsonb_build_object('source', 'import', 'import_id', %(import_id)s::text, 'created', w.created,
                              'fields', jsonb_strip_nulls(jsonb_build_object(
                                  'name', i.name, 'gender', i.gender, 'birthday', i.birthday, 'email', i.email)))
    FROM written w JOIN incoming i USING (phone)
    WHERE w.status = 'imported'
)
SELECT member_id, phone, status, created FROM written
"""
ADD_TAGS = """
INSERT INTO member_tags (member_id, shop_id, tag, added_by)
SELECT m.member_id, %(shop_id)s, t.tag, %(added_by)s
FROM unnest(%(phones)s::text[], %(tags)s::text[]) AS t (phone, tag)
JOIN members m ON m.shop_id = %(shop_id)s AND m.phone = t.phone AND m.status <> 'erased'
ORDER BY m.member_id, t.tag
ON CONFLICT (member_id, tag) DO NOTHING
"""
SHOP_TIMEZONE = "SELECT timezone FROM shops WHERE shop_id = %(shop_id)s"
BRANCH_OF_SHOP = "SELECT 1 FROM branches WHERE shop_id = %(shop_id)s AND branch_id = %(branch_id)s"
EXPORT_MEMBERS = """
SELECT m.member_id, m.phone, m.name, m.gender, m.birthday, m.email, m.status, t.name AS tier,
       m.points_balance, m.lifetime_points,
       coalesce((SELECT array_agg(mt.tag ORDER BY mt.tag) FROM member_tags mt WHERE mt.member_id = m.member_id),
                '{}') AS tags
FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.member_id > %(after)s
ORDER BY m.member_id LIMIT %(limit)s
"""
EXPORT_TIER_HISTORY = """
SELECT d.decision_id, m.phone, d.decided_at, d.reason, d.from_tier, d.to_tier, d.window_points,
       d.window_start, d.window_end, d.settings_version
FROM tier_decisions d JOIN members m ON m.member_id = d.member_id
WHERE d.shop_id = %(shop_id)s AND d.decision_id > %(after)s
ORDER BY d.decision_id LIMIT %(limit)s
"""


def put_part(conn, shop_id, upload_id, part, data):
    conn.execute(PUT_PART, {"shop_id": shop_id, "upload_id": upload_id, "part": part, "data": data})


def parts(conn, shop_id, upload_id):
    return [(row["part"], row["data"]) for row in conn.execute(PARTS, {"shop_id": shop_id, "upload_id": upload_id})]


def drop_parts(conn, upload_id):
    conn.execute(DROP_PARTS, {"upload_id": upload_id})


def purge_parts(conn, before):
    return conn.execute(PURGE_PARTS, {"before": before}).rowcount


def shop_timezone(conn, shop_id):
    row = conn.execute(SHOP_TIMEZONE, {"shop_id": shop_id}).fetchone()
    if row is None:
        raise errors.shop_not_found(shop_id)
    return row["timezone"]


def check_branch(conn, shop_id, branch_id):
    if conn.execute(BRANCH_OF_SHOP, {"shop_id": shop_id, "branch_id": branch_id}).fetchone() is None:
        raise errors.branch_not_found(branch_id)


def insert_import(conn, owner=None, lease=60, **job):
    """(the import, created): the import of this file in this shop, made now or before. With
    `owner`, a new import starts running under that owner's lease (worked within the request)."""
    made = conn.execute(INSERT_IMPORT, {**job, "actor": Jsonb(job["actor"]), "owner": owner,
                                        "lease": lease}).fetchone()
    if made is not None:
        conn.execute(INSERT_FILE, {"import_id": made["import_id"], "data": job["data"]})
        return made, True
    return by_hash(conn, job["shop_id"], job["file_sha256"]), False


def retry(conn, import_id, data, owner=None, lease=60):
    """A failed import queued again (or running under `owner`) with its file; None if it had not failed."""
    again = conn.execute(RETRY, {"import_id": import_id, "owner": owner, "lease": lease}).fetchone()
    if again is not None:
        conn.execute(INSERT_FILE, {"import_id": import_id, "data": data})
    return again


def by_hash(conn, shop_id, file_sha256):
    return conn.execute(BY_HASH, {"shop_id": shop_id, "file_sha256": file_sha256}).fetchone()


def get_import(conn, shop_id, import_id):
    found = conn.execute(GET_IMPORT, {"shop_id": shop_id, "import_id": import_id}).fetchone()
    if found is None:
        raise errors.import_not_found(import_id)
    return found


def list_imports(conn, shop_id, limit):
    return conn.execute(LIST_IMPORTS, {"shop_id": shop_id, "limit": limit}).fetchall()


def file_of(conn, import_id):
    return conn.execute(FILE, {"import_id": import_id}).fetchone()["data"]


def claim(conn, owner, as_of, lease, import_id=None):
    return conn.execute(CLAIM, {"owner": owner, "as_of": as_of, "lease": lease, "import_id": import_id}).fetchone()


def progress(conn, import_id, owner, processed, rows, imported, rejected, points, lease):
    """True when the chunk was recorded; False when this worker no longer holds the job."""
    return conn.execute(PROGRESS, {"import_id": import_id, "owner": owner, "processed": processed, "rows": rows,
                                   "imported": imported, "rejected": rejected, "points": points,
                                   "lease": lease}).fetchone() is not None


def finish(conn, import_id, owner, status, failure=None):
    finished = conn.execute(FINISH, {"import_id": import_id, "owner": owner, "status": status,
                                     "failure": failure}).fetchone()
    if finished is not None and status == "done":  # a failed import keeps its file, to be tried again
        conn.execute(DROP_FILE, {"import_id": import_id})
    return finished


def insert_errors(conn, import_id, problems):
    if problems:
        conn.execute(INSERT_ERRORS, {"import_id": import_id, "rows": [p[0] for p in problems],
                                     "columns": [p[1] for p in problems], "reasons": [p[2] for p in problems]})


def errors_of(conn, import_id, after_row, limit):
    return conn.execute(ERRORS, {"import_id": import_id, "after_row": after_row, "limit": limit}).fetchall()


def error_count(conn, import_id):
    return conn.execute(ERROR_COUNT, {"import_id": import_id}).fetchone()["n"]


def upsert_members(conn, shop_id, import_id, actor, members):
    """Write a chunk's members (one per phone); returns [{member_id, phone, status, created}]."""
    if not members:
        return []

    def column(name):
        return [member[name] for member in members]

    return conn.execute(UPSERT_MEMBERS, {
        "shop_id": shop_id, "import_id": str(import_id), "actor": Jsonb(actor),
        "member_ids": column("member_id"), "phones": column("phone"), "names": column("name"),
        "genders": column("gender"), "birthdays": column("birthday"), "emails": column("email")}).fetchall()


def add_tags(conn, shop_id, added_by, members):
    pairs = [(member["phone"], tag) for member in members for tag in member["tags"]]
    if pairs:
        conn.execute(ADD_TAGS, {"shop_id": shop_id, "added_by": Jsonb(added_by), "phones": [p for p, _ in pairs],
                                "tags": [t for _, t in pairs]})


def export_members(conn, shop_id, after, limit):
    return conn.execute(EXPORT_MEMBERS, {"shop_id": shop_id, "after": after, "limit": limit}).fetchall()


def export_tier_history(conn, shop_id, after, limit):
    return conn.execute(EXPORT_TIER_HISTORY, {"shop_id": shop_id, "after": after, "limit": limit}).fetchall()


TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(%(name)s)) AS got"
UNLOCK = "SELECT pg_advisory_unlock(hashtext(%(name)s))"


def try_lock(conn, name):
    """A session-level advisory lock: one import runner per database at a time (the timer)."""
    return conn.execute(TRY_LOCK, {"name": name}).fetchone()["got"]


def unlock(conn, name):
    conn.execute(UNLOCK, {"name": name})
