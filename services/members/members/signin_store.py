"""SQL of member sign-in: LINE Login channels, one-time code challenges, member tokens.
Raises members' errors, never psycopg's."""
import psycopg

from members import errors

SAVE_CHANNEL = """
INSERT INTO line_login_channels (shop_id, channel_id, channel_secret)
VALUES (%(shop_id)s, %(channel_id)s, %(channel_secret)s)
ON CONFLICT (shop_id) DO UPDATE SET channel_id = EXCLUDED.channel_id,
    channel_secret = EXCLUDED.channel_secret, updated_at = now()
RETURNING shop_id, channel_id, updated_at
"""
CHANNEL = "SELECT shop_id, channel_id, channel_secret, updated_at FROM line_login_channels WHERE shop_id = %(shop_id)s"

# Codes asked for one phone (or from one address) are counted under a lock on that
# phone (then on that address, always in this order): two racing requests cannot both
# pass the limit.
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%(name)s, 0))"
SENT_TO_PHONE = """
SELECT count(*) AS n FROM otp_challenges
WHERE shop_id = %(shop_id)s AND phone = %(phone)s AND created_at > %(since)s
"""
SENT_FROM_IP = "SELECT count(*) AS n FROM otp_challenges WHERE client_ip = %(ip)s AND created_at > %(since)s"
INSERT_CHALLENGE = """
INSERT INTO otp_challenges (challenge_id, shop_id, phone, code_hash, client_ip, created_at, expires_at)
VALUES (%(challenge_id)s, %(shop_id)s, %(phone)s, %(code_hash)s, %(ip)s, %(now)s, %(expires_at)s)
RETURNING challenge_id, shop_id, phone, created_at, expires_at
"""
CHALLENGE = """
SELECT challenge_id, shop_id, phone, code_hash, status, attempts, expires_at FROM otp_challenges
WHERE challenge_id = %(challenge_id)s AND shop_id = %(shop_id)s
FOR UPDATE
"""
SETTLE_CHALLENGE = """
UPDATE otp_challenges SET status = %(status)s, attempts = %(attempts)s,
    used_at = CASE WHEN %(status)s = 'used' THEN %(now)s ELSE used_at END
WHERE challenge_id = %(challenge_id)s
"""
KILL_CHALLENGE = "UPDATE otp_challenges SET status = 'dead' WHERE challenge_id = %(challenge_id)s AND status = 'live'"

MEMBER_COLUMNS = """m.member_id, m.shop_id, m.phone, m.status, m.name, m.gender, m.birthday, m.email, m.address,
    m.line_user_id, m.lifetime_points, m.points_balance, m.registered_at, m.created_at, t.name AS tier"""
NEW_PHONE_MEMBER = """
INSERT INTO members (member_id, shop_id, phone) VALUES (%(member_id)s, %(shop_id)s, %(phone)s)
ON CONFLICT (shop_id, phone) DO NOTHING
RETURNING member_id, shop_id, phone, status, created_at
"""
MEMBER_BY_PHONE = f"""
SELECT {MEMBER_COLUMNS} FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.phone = %(phone)s
"""
MEMBER_BY_LINE = f"""
SELECT {MEMBER_COLUMNS} FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.line_user_id = %(line_user_id)s
"""
MEMBER_BY_ID = f"""
SELECT {MEMBER_COLUMNS} FROM members m LEFT JOIN tiers t ON t.tier_id = m.tier_id
WHERE m.shop_id = %(shop_id)s AND m.member_id = %(member_id)s
"""
LOCK_MEMBER = "SELECT member_id, line_user_id FROM members WHERE member_id = %(member_id)s FOR UPDATE"
LINK_LINE = """
UPDATE members SET line_user_id = %(line_user_id)s, updated_at = now()
WHERE member_id = %(member_id)s AND line_user_id IS NULL
RETURNING member_id
"""
RECORD_CHANGE = """
INSERT INTO member_changes (member_id, shop_id, changed_at, actor, kind, changes)
VALUES (%(member_id)s, %(shop_id)s, %(now)s, %(actor)s, 'updated', %(changes)s)
"""

INSERT_TOKEN = """
INSERT INTO member_tokens (token_id, token_hash, shop_id, member_id, method, created_at, expires_at)
VALUES (%(token_id)s, %(token_hash)s, %(shop_id)s, %(member_id)s, %(method)s, %(now)s, %(expires_at)s)
RETURNING token_id, expires_at
"""
AUTHENTICATE = """
SELECT t.token_id, t.shop_id, t.member_id, m.phone, t.expires_at
FROM member_tokens t JOIN members m ON m.member_id = t.member_id JOIN shops s ON s.shop_id = t.shop_id
WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL AND t.expires_at > %(now)s
  AND s.status = 'active' AND m.status <> 'erased'
"""
REVOKE_ONE = """
UPDATE member_tokens SET revoked_at = %(now)s
WHERE shop_id = %(shop_id)s AND member_id = %(member_id)s AND token_id = %(token_id)s AND revoked_at IS NULL
RETURNING token_id
"""
REVOKE_ALL = """
UPDATE member_tokens SET revoked_at = %(now)s
WHERE shop_id = %(shop_id)s AND member_id = %(member_id)s AND revoked_at IS NULL
RETURNING token_id
"""
ISSUE_NONCE = """
INSERT INTO line_nonces (nonce, shop_id, client_ip, created_at, expires_at)
VALUES (%(nonce)s, %(shop_id)s, %(client_ip)s, %(now)s, %(expires_at)s)
"""
NONCES_FROM_IP = "SELECT count(*) AS n FROM line_nonces WHERE client_ip = %(ip)s AND created_at > %(since)s"
USE_NONCE = """
UPDATE line_nonces SET used_at = %(now)s
WHERE nonce = %(nonce)s AND shop_id = %(shop_id)s AND used_at IS NULL AND expires_at > %(now)s
RETURNING nonce
"""
USE_LINE_TOKEN = """
INSERT INTO line_tokens_used (token_hash, shop_id, expires_at) VALUES (%(token_hash)s, %(shop_id)s, %(expires_at)s)
ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash
"""
PURGE_NONCES = "DELETE FROM line_nonces WHERE expires_at < %(before)s"
PURGE_LINE_TOKENS = "DELETE FROM line_tokens_used WHERE expires_at < %(before)s"
PURGE_CHALLENGES = "DELETE FROM otp_challenges WHERE created_at < %(before)s"
PURGE_TOKENS = "DELETE FROM member_tokens WHERE expires_at < %(before)s OR revoked_at < %(before)s"
TRY_JOB_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('members.purge_sign_in', 0)) AS got"


def save_channel(conn, shop_id, channel_id, channel_secret):
    return conn.execute(SAVE_CHANNEL, {"shop_id": shop_id, "channel_id": channel_id,
                                       "channel_secret": channel_secret}).fetchone()


def channel(conn, shop_id):
    return conn.execute(CHANNEL, {"shop_id": shop_id}).fetchone()


def lock(conn, name):
    conn.execute(LOCK, {"name": name})


def sent_to_phone(conn, shop_id, phone, since):
    return conn.execute(SENT_TO_PHONE, {"shop_id": shop_id, "phone": phone, "since": since}).fetchone()["n"]


def sent_from_ip(conn, ip, since):
    return conn.execute(SENT_FROM_IP, {"ip": ip, "since": since}).fetchone()["n"]


def insert_challenge(conn, **row):
    return conn.execute(INSERT_CHALLENGE, row).fetchone()


def challenge_for_update(conn, shop_id, challenge_id):
    row = conn.execute(CHALLENGE, {"shop_id": shop_id, "challenge_id": challenge_id}).fetchone()
    if row is None:
        raise errors.otp_not_found(challenge_id)
    return row


def settle_challenge(conn, challenge_id, status, attempts, now):
    conn.execute(SETTLE_CHALLENGE, {"challenge_id": challenge_id, "status": status, "attempts": attempts,
                                    "now": now})


def kill_challenge(conn, challenge_id):
    conn.execute(KILL_CHALLENGE, {"challenge_id": challenge_id})


def member_for_phone(conn, shop_id, phone, member_id):
    """(member, created): the shop's member with this phone, made phone-only when none exists.
    Two racing sign-ins of a new phone make one member (the second waits and reads it)."""
    created = conn.execute(NEW_PHONE_MEMBER, {"member_id": member_id, "shop_id": shop_id,
                                              "phone": phone}).fetchone()
    member = conn.execute(MEMBER_BY_PHONE, {"shop_id": shop_id, "phone": phone}).fetchone()
    return member, created


def member_by_line(conn, shop_id, line_user_id):
    return conn.execute(MEMBER_BY_LINE, {"shop_id": shop_id, "line_user_id": line_user_id}).fetchone()


def member(conn, shop_id, member_id):
    row = conn.execute(MEMBER_BY_ID, {"shop_id": shop_id, "member_id": member_id}).fetchone()
    if row is None:
        raise errors.member_id_not_found(member_id)
    return row


def link_line(conn, member_id, line_user_id):
    """Give the member this LINE user id. Returns 'linked', 'already' (the same id), or raises:
    the member has another one, or the id belongs to another member of the shop."""
    current = conn.execute(LOCK_MEMBER, {"member_id": member_id}).fetchone()
    if current["line_user_id"] == line_user_id:
        return "already"
    if current["line_user_id"] is not None:
        raise errors.member_has_other_line_account()
    try:
        with conn.transaction():
            conn.execute(LINK_LINE, {"member_id": member_id, "line_user_id": line_user_id})
    except psycopg.errors.UniqueViolation:
        raise errors.line_user_taken() from None
    return "linked"


def record_change(conn, **row):
    conn.execute(RECORD_CHANGE, row)


def insert_token(conn, **row):
    return conn.execute(INSERT_TOKEN, row).fetchone()


def authenticate(conn, token_hash, now):
    principal = conn.execute(AUTHENTICATE, {"token_hash": token_hash, "now": now}).fetchone()
    if principal is None:
        raise errors.invalid_member_token()
    return principal


def revoke(conn, shop_id, member_id, token_id, now):
    """Revoke one token (token_id) or every live token of the member (token_id None): the ids revoked."""
    params = {"shop_id": shop_id, "member_id": member_id, "token_id": token_id, "now": now}
    rows = conn.execute(REVOKE_ALL if token_id is None else REVOKE_ONE, params).fetchall()
    return [row["token_id"] for row in rows]


def purge(conn, challenges_before, tokens_before):
    """Forget old challenges and long-dead tokens, once at a time across replicas (None: another runs)."""
    if not conn.execute(TRY_JOB_LOCK).fetchone()["got"]:
        return None
    return {"challenges": conn.execute(PURGE_CHALLENGES, {"before": challenges_before}).rowcount,
            "tokens": conn.execute(PURGE_TOKENS, {"before": tokens_before}).rowcount,
            "line_nonces": conn.execute(PURGE_NONCES, {"before": challenges_before}).rowcount,
            "line_tokens": conn.execute(PURGE_LINE_TOKENS, {"before": challenges_before}).rowcount}


def nonces_from_ip(conn, ip, since):
    return conn.execute(NONCES_FROM_IP, {"ip": ip, "since": since}).fetchone()["n"]


def issue_nonce(conn, shop_id, nonce, client_ip, now, expires_at):
    try:
        with conn.transaction():
            conn.execute(ISSUE_NONCE, {"nonce": nonce, "shop_id": shop_id, "client_ip": client_ip, "now": now,
                                       "expires_at": expires_at})
    except psycopg.errors.ForeignKeyViolation:
        raise errors.shop_not_found(shop_id) from None


def use_nonce(conn, shop_id, nonce, now):
    """True once for a nonce this shop was issued and that has not expired."""
    return conn.execute(USE_NONCE, {"nonce": nonce, "shop_id": shop_id, "now": now}).fetchone() is not None


def use_line_token(conn, shop_id, token_hash, expires_at):
    """True the first time this LINE ID token signs in."""
    return conn.execute(USE_LINE_TOKEN, {"token_hash": token_hash, "shop_id": shop_id,
                                         "expires_at": expires_at}).fetchone() is not None
