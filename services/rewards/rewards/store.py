"""SQL of the rewards service (psycopg 3, dict rows). No business decisions here."""
from psycopg.types.json import Jsonb

# --- shops (a copy of the members service's, with this service's code key) ----------

SHOP = "SELECT shop_id, timezone, code_key, next_code FROM shops WHERE shop_id = %(shop_id)s"
UPSERT_SHOP = """
INSERT INTO shops (shop_id, timezone, code_key) VALUES (%(shop_id)s, %(timezone)s, %(code_key)s)
ON CONFLICT (shop_id) DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()
"""
ALLOCATE_CODES = """
UPDATE shops SET next_code = next_code + %(count)s WHERE shop_id = %(shop_id)s
RETURNING next_code - %(count)s AS first, code_key, timezone
"""


def shop(conn, shop_id):
    return conn.execute(SHOP, {"shop_id": shop_id}).fetchone()


def upsert_shop(conn, shop_id, timezone, code_key):
    conn.execute(UPSERT_SHOP, {"shop_id": shop_id, "timezone": timezone, "code_key": code_key})


def allocate_codes(conn, shop_id, count):
    """Reserve `count` sequence numbers of the shop's codes (locks the shop row until commit)."""
    return conn.execute(ALLOCATE_CODES, {"shop_id": shop_id, "count": count}).fetchone()


# --- rewards -----------------------------------------------------------------------

REWARD_COLUMNS = """reward_id, shop_id, kind, code_source, name, description, image_url, points_cost, stock_total,
    stock_left, valid_from, valid_to, coupon_days, per_member_limit, tiers, branch_ids, visible, status, version,
    created_at, updated_at"""
INSERT_REWARD = f"""
INSERT INTO rewards (reward_id, shop_id, kind, code_source, name, description, image_url, points_cost, stock_total,
    stock_left, valid_from, valid_to, coupon_days, per_member_limit, tiers, branch_ids, visible)
VALUES (%(reward_id)s, %(shop_id)s, %(kind)s, %(code_source)s, %(name)s, %(description)s, %(image_url)s,
    %(points_cost)s, %(stock)s, %(stock)s, %(valid_from)s, %(valid_to)s, %(coupon_days)s, %(per_member_limit)s,
    %(tiers)s, %(branch_ids)s, %(visible)s)
RETURNING {REWARD_COLUMNS}
"""
REWARD = f"SELECT {REWARD_COLUMNS} FROM rewards WHERE shop_id = %(shop_id)s AND reward_id = %(reward_id)s"
REWARDS = f"""SELECT {REWARD_COLUMNS} FROM rewards WHERE shop_id = %(shop_id)s
AND (%(include_archived)s OR status = 'active') ORDER BY created_at, reward_id"""
RESERVE_STOCK = """
UPDATE rewards SET stock_left = stock_left - %(count)s
WHERE reward_id = %(reward_id)s AND stock_left >= %(count)s RETURNING stock_left
"""
RELEASE_STOCK = """
UPDATE rewards SET stock_left = least(stock_left + %(count)s, stock_total)
WHERE reward_id = %(reward_id)s AND stock_left IS NOT NULL
"""
ADD_STOCK = """
UPDATE rewards SET stock_total = coalesce(stock_total, 0) + %(count)s, stock_left = coalesce(stock_left, 0) + %(count)s,
    updated_at = now()
WHERE reward_id = %(reward_id)s
"""


def insert_reward(conn, **row):
    return conn.execute(INSERT_REWARD, row).fetchone()


def reward(conn, shop_id, reward_id, lock=False):
    return conn.execute(REWARD + (" FOR UPDATE" if lock else ""),
                        {"shop_id": shop_id, "reward_id": reward_id}).fetchone()


def rewards(conn, shop_id, include_archived=False):
    return conn.execute(REWARDS, {"shop_id": shop_id, "include_archived": include_archived}).fetchall()


def update_reward(conn, shop_id, reward_id, changes):
    """Apply `changes` (column -> value) and bump the version."""
    sets = ", ".join(f"{column} = %({column})s" for column in changes)
    return conn.execute(
        f"UPDATE rewards SET {sets}, version = version + 1, updated_at = now() "
        f"WHERE shop_id = %(shop_id)s AND reward_id = %(reward_id)s RETURNING {REWARD_COLUMNS}",
        {**changes, "shop_id": shop_id, "reward_id": reward_id}).fetchone()


def reserve_stock(conn, reward_id, count=1):
    """Take `count` from a limited stock; False when there is not enough."""
    return conn.execute(RESERVE_STOCK, {"reward_id": reward_id, "count": count}).fetchone() is not None


def release_stock(conn, reward_id, count=1):
    conn.execute(RELEASE_STOCK, {"reward_id": reward_id, "count": count})


def add_stock(conn, reward_id, count):
    conn.execute(ADD_STOCK, {"reward_id": reward_id, "count": count})


ADD_POOL_CODE = """
INSERT INTO code_pool (reward_id, code) SELECT %(reward_id)s, unnest(%(codes)s::text[])
ON CONFLICT DO NOTHING
"""
TAKE_POOL_CODES = """
UPDATE code_pool SET coupon_id = taken.coupon_id
FROM (SELECT code, (%(coupon_ids)s::uuid[])[row_number() OVER (ORDER BY added_at, code)] AS coupon_id
      FROM (SELECT code, added_at FROM code_pool WHERE reward_id = %(reward_id)s AND coupon_id IS NULL
            ORDER BY added_at, code LIMIT %(count)s FOR UPDATE SKIP LOCKED) free) taken
WHERE code_pool.reward_id = %(reward_id)s AND code_pool.code = taken.code
RETURNING code_pool.code, code_pool.coupon_id
"""


def add_pool_codes(conn, reward_id, codes):
    return conn.execute(ADD_POOL_CODE, {"reward_id": reward_id, "codes": codes}).rowcount


def take_pool_codes(conn, reward_id, coupon_ids):
    rows = conn.execute(TAKE_POOL_CODES, {"reward_id": reward_id, "coupon_ids": coupon_ids,
                                          "count": len(coupon_ids)}).fetchall()
    return {str(row["coupon_id"]): row["code"] for row in rows}


# --- redemptions -------------------------------------------------------------------

REDEMPTION_COLUMNS = """redemption_id, shop_id, idempotency_key, fingerprint, reward_id, phone, points, state, spend,
    actor, branch_id, address, stock_reserved, coupon_id, failure_code, failure_message, refund, created_at,
    settled_at"""
INSERT_REDEMPTION = f"""
INSERT INTO redemptions (redemption_id, shop_id, idempotency_key, fingerprint, reward_id, phone, points, spend,
    actor, branch_id, address, stock_reserved)
VALUES (%(redemption_id)s, %(shop_id)s, %(idempotency_key)s, %(fingerprint)s, %(reward_id)s, %(phone)s, %(points)s,
    %(spend)s, %(actor)s, %(branch_id)s, %(address)s, %(stock_reserved)s)
ON CONFLICT (shop_id, idempotency_key) DO NOTHING
RETURNING {REDEMPTION_COLUMNS}
"""
# A redemption that needs no check after its insert (see redemption.start), and its coupon's code
# number (as ALLOCATE_CODES), taken only if the insert claimed the key. The shop row must be locked
# last, with nothing waited for after it (issue_batch locks a reward, then waits for the shop row
# on another connection): the reward row is locked first (KEY SHARE, as the insert's foreign key
# check at the statement's end locks it), so that check finds it locked already.
CLAIM = f"""
WITH claimed AS ({INSERT_REDEMPTION}), code AS (
    UPDATE shops SET next_code = next_code + 1
    WHERE shop_id = %(shop_id)s AND EXISTS (SELECT FROM claimed)
      AND EXISTS (SELECT FROM rewards WHERE reward_id = %(reward_id)s FOR KEY SHARE)
    RETURNING next_code - 1 AS first, code_key, timezone
)
SELECT claimed.*, code.first, code.code_key, code.timezone FROM claimed LEFT JOIN code ON true
"""
# A redemption with its checks (in a transaction, after the member's lock when the reward has a
# per-member limit): the insert claims the idempotency key (no row comes back when it is taken;
# a concurrent call with it waits for this one's transaction), then one unit of a limited stock
# is taken if there is one (stock_taken), and `taken` counts the member's other live redemptions
# of the reward, as of this statement, i.e. after the lock.
RESERVE = f"""
WITH claimed AS ({INSERT_REDEMPTION}), stock AS (
    UPDATE rewards SET stock_left = stock_left - 1
    WHERE reward_id = %(reward_id)s AND %(stock_reserved)s AND stock_left >= 1 AND EXISTS (SELECT FROM claimed)
    RETURNING stock_left
)
SELECT claimed.*, EXISTS (SELECT FROM stock) AS stock_taken,
    CASE WHEN %(count_taken)s THEN (
        SELECT count(*) FROM redemptions
        WHERE shop_id = %(shop_id)s AND phone = %(phone)s AND reward_id = %(reward_id)s
          AND state IN ('reserved', 'completed') AND refund IS NULL) END AS taken
FROM claimed
"""
REDEMPTION_BY_KEY = f"""SELECT {REDEMPTION_COLUMNS} FROM redemptions
WHERE shop_id = %(shop_id)s AND idempotency_key = %(key)s"""
REDEMPTION = f"SELECT {REDEMPTION_COLUMNS} FROM redemptions WHERE redemption_id = %(redemption_id)s"
TAKEN_BY_REWARD = """
SELECT reward_id, count(*) AS n FROM redemptions
WHERE shop_id = %(shop_id)s AND phone = %(phone)s AND state IN ('reserved', 'completed') AND refund IS NULL
GROUP BY reward_id
"""
LOCK_MEMBER_REWARD = "SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0))"
SETTLE = f"""
UPDATE redemptions SET state = %(state)s, coupon_id = %(coupon_id)s, failure_code = %(failure_code)s,
    failure_message = %(failure_message)s, settled_at = CASE WHEN %(state)s IN ('completed', 'failed') THEN now() END
WHERE redemption_id = %(redemption_id)s AND state = ANY(%(from_states)s)
RETURNING {REDEMPTION_COLUMNS}
"""
# A redemption failed, and the unit of stock it took (if any) given back, in one statement.
FAIL = f"""
WITH failed AS (
    UPDATE redemptions SET state = 'failed', coupon_id = NULL, failure_code = %(failure_code)s,
        failure_message = %(failure_message)s, settled_at = now()
    WHERE redemption_id = %(redemption_id)s AND state = ANY(%(from_states)s)
    RETURNING {REDEMPTION_COLUMNS}
), released AS (
    UPDATE rewards SET stock_left = least(stock_left + 1, stock_total) FROM failed
    WHERE rewards.reward_id = failed.reward_id AND failed.stock_reserved AND rewards.stock_left IS NOT NULL
)
SELECT * FROM failed
"""
SET_REFUND = "UPDATE redemptions SET refund = %(refund)s WHERE redemption_id = %(redemption_id)s"
UNSETTLED = f"""
SELECT {REDEMPTION_COLUMNS} FROM redemptions
WHERE (state IN ('reserved', 'compensating') OR refund = 'due') AND created_at <= %(before)s
ORDER BY created_at LIMIT %(limit)s
"""


def _redemption_params(row):
    return {**row, "spend": Jsonb(row["spend"]), "actor": Jsonb(row["actor"]),
            "address": Jsonb(row["address"]) if row["address"] is not None else None}


def claim(conn, **row):
    """A new redemption with its code number (first, code_key, timezone; see CLAIM); None when
    its idempotency key is taken."""
    return conn.execute(CLAIM, _redemption_params(row)).fetchone()


def reserve(conn, count_taken, **row):
    """A redemption, its unit of stock and the member's count (see RESERVE); None when the key is taken."""
    return conn.execute(RESERVE, {**_redemption_params(row), "count_taken": count_taken}).fetchone()


def redemption_by_key(conn, shop_id, key):
    return conn.execute(REDEMPTION_BY_KEY, {"shop_id": shop_id, "key": key}).fetchone()


def redemption(conn, redemption_id, lock=False):
    return conn.execute(REDEMPTION + (" FOR UPDATE" if lock else ""), {"redemption_id": redemption_id}).fetchone()


def lock_member_reward(conn, shop_id, phone, reward_id):
    """Serialise one member's redemptions of one reward (the per-member limit)."""
    conn.execute(LOCK_MEMBER_REWARD, {"lock": f"redeem:{shop_id}:{reward_id}:{phone}"})


def taken_by_reward(conn, shop_id, phone):
    return {row["reward_id"]: row["n"] for row in conn.execute(TAKEN_BY_REWARD, {"shop_id": shop_id, "phone": phone})}


def settle(conn, redemption_id, state, from_states, coupon_id=None, failure_code=None, failure_message=None):
    """Move a redemption to `state` if it is in one of `from_states`; None if it was not."""
    return conn.execute(SETTLE, {"redemption_id": redemption_id, "state": state, "from_states": list(from_states),
                                 "coupon_id": coupon_id, "failure_code": failure_code,
                                 "failure_message": failure_message}).fetchone()


def fail(conn, redemption_id, from_states, failure_code, failure_message):
    """Fail a redemption in one of `from_states` and give back its unit of stock; None if it was not."""
    return conn.execute(FAIL, {"redemption_id": redemption_id, "from_states": list(from_states),
                               "failure_code": failure_code, "failure_message": failure_message}).fetchone()


def set_refund(conn, redemption_id, refund):
    conn.execute(SET_REFUND, {"redemption_id": redemption_id, "refund": refund})


def unsettled(conn, before, limit):
    return conn.execute(UNSETTLED, {"before": before, "limit": limit}).fetchall()


# --- coupons -----------------------------------------------------------------------

COUPON_COLUMNS = """c.coupon_id, c.shop_id, c.code, c.reward_id, c.reward_version, c.kind, c.name, c.branch_ids,
    c.phone, c.source, c.source_ref, c.redemption_id, c.points_cost, c.external_code, c.status, c.delivery, c.carrier,
    c.tracking_no, c.issued_at, c.expires_at, c.used_at, c.used_branch_id, c.used_by, c.expired_at"""
COUPON_FIELDS = ("coupon_id", "shop_id", "code", "reward_id", "reward_version", "kind", "name", "branch_ids", "phone",
                 "source", "source_ref", "redemption_id", "points_cost", "external_code", "delivery", "issued_at",
                 "expires_at")
VARYING = ("coupon_id", "code", "phone", "external_code")
SHARED = tuple(f for f in COUPON_FIELDS if f not in VARYING)
INSERT_COUPON = (f"INSERT INTO coupons ({', '.join(COUPON_FIELDS)}) VALUES "
                 f"({', '.join('%(' + f + ')s' for f in COUPON_FIELDS)})")
COUPON_BY_CODE = f"SELECT {COUPON_COLUMNS} FROM coupons c WHERE c.shop_id = %(shop_id)s AND c.code = %(code)s"
COUPON = f"SELECT {COUPON_COLUMNS} FROM coupons c WHERE c.coupon_id = %(coupon_id)s"
CODE_ELSEWHERE = "SELECT shop_id FROM coupons WHERE code = %(code)s AND shop_id <> %(shop_id)s LIMIT 1"
MEMBER_COUPONS = f"""SELECT {COUPON_COLUMNS} FROM coupons c WHERE c.shop_id = %(shop_id)s AND c.phone = %(phone)s
ORDER BY c.issued_at DESC, c.coupon_id LIMIT %(limit)s"""
MARK_USED = f"""
UPDATE coupons c SET status = 'used', used_at = %(at)s, used_branch_id = %(branch_id)s, used_by = %(used_by)s
WHERE c.coupon_id = %(coupon_id)s AND c.status = 'issued' RETURNING {COUPON_COLUMNS}
"""
UNDO_USE = f"""
UPDATE coupons c SET status = 'issued', used_at = NULL, used_branch_id = NULL, used_by = NULL
WHERE c.coupon_id = %(coupon_id)s AND c.status = 'used' RETURNING {COUPON_COLUMNS}
"""
MOVE_DELIVERY = f"""
UPDATE coupons c SET delivery = %(status)s, carrier = coalesce(%(carrier)s, c.carrier),
    tracking_no = coalesce(%(tracking_no)s, c.tracking_no),
    status = CASE WHEN %(status)s = 'cancelled' THEN 'cancelled' ELSE c.status END
WHERE c.coupon_id = %(coupon_id)s RETURNING {COUPON_COLUMNS}
"""
HISTORY = """
INSERT INTO coupon_history (coupon_id, action, branch_id, actor, reason, detail)
VALUES (%(coupon_id)s, %(action)s, %(branch_id)s, %(actor)s, %(reason)s, %(detail)s)
"""
COUPON_HISTORY = """SELECT action, branch_id, actor, reason, detail, at FROM coupon_history
WHERE coupon_id = %(coupon_id)s ORDER BY history_id"""
EXPIRE_DUE = f"""
WITH due AS (
    SELECT coupon_id FROM coupons WHERE status = 'issued' AND kind <> 'delivery'
      AND expires_at IS NOT NULL AND expires_at <= %(as_of)s
    ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE coupons c SET status = 'expired', expired_at = %(as_of)s FROM due WHERE c.coupon_id = due.coupon_id
RETURNING {COUPON_COLUMNS}
"""
WARN_DUE = f"""
WITH due AS (
    SELECT coupon_id FROM coupons WHERE status = 'issued' AND kind <> 'delivery' AND warned_at IS NULL
      AND expires_at IS NOT NULL
      AND expires_at > %(as_of)s AND expires_at <= %(until)s
    ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE coupons c SET warned_at = %(as_of)s FROM due WHERE c.coupon_id = due.coupon_id
RETURNING {COUPON_COLUMNS}
"""


def _copy_text(value):
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, list):
        value = "{" + ",".join(str(v) for v in value) + "}"
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


COPY_CHUNK = 20_000


def insert_coupons(conn, common, ids, made, phones, external, pause=None):
    """Write coupons that share `common` and differ in id, code, phone and external code.
    One INSERT for a few; COPY in text format for a batch (the shared part of each line is
    escaped once), `pause()` between chunks."""
    if len(ids) < 20:
        rows = [{**common, "coupon_id": i, "code": c, "phone": p, "external_code": external.get(i)}
                for i, c, p in zip(ids, made, phones, strict=True)]
        if len(rows) == 1:  # a redemption's: executemany would open a pipeline for it
            conn.execute(INSERT_COUPON, rows[0])
            return
        with conn.cursor() as cur:
            cur.executemany(INSERT_COUPON, rows)
        return
    shared = "\t".join(_copy_text(common[f]) for f in COUPON_FIELDS if f not in VARYING)
    with conn.cursor().copy(f"COPY coupons ({', '.join(VARYING + SHARED)}) FROM STDIN") as copy:
        for start in range(0, len(ids), COPY_CHUNK):
            lines = []
            for i in range(start, min(start + COPY_CHUNK, len(ids))):
                coupon_id = ids[i]
                code = external.get(coupon_id)
                lines.append(f"{coupon_id}\t{made[i]}\t{phones[i]}\t{_copy_text(code)}\t{shared}\n")
            copy.write("".join(lines))
            if pause is not None:
                pause()


def coupon_by_code(conn, shop_id, code, lock=False):
    return conn.execute(COUPON_BY_CODE + (" FOR UPDATE" if lock else ""),
                        {"shop_id": shop_id, "code": code}).fetchone()


def coupon(conn, coupon_id, lock=False):
    return conn.execute(COUPON + (" FOR UPDATE" if lock else ""), {"coupon_id": coupon_id}).fetchone()


def code_elsewhere(conn, shop_id, code):
    return conn.execute(CODE_ELSEWHERE, {"shop_id": shop_id, "code": code}).fetchone() is not None


def member_coupons(conn, shop_id, phone, limit):
    return conn.execute(MEMBER_COUPONS, {"shop_id": shop_id, "phone": phone, "limit": limit}).fetchall()


def mark_used(conn, coupon_id, at, branch_id, used_by):
    return conn.execute(MARK_USED, {"coupon_id": coupon_id, "at": at, "branch_id": branch_id,
                                    "used_by": used_by}).fetchone()


def undo_use(conn, coupon_id):
    return conn.execute(UNDO_USE, {"coupon_id": coupon_id}).fetchone()


def move_delivery(conn, coupon_id, status, carrier, tracking_no):
    return conn.execute(MOVE_DELIVERY, {"coupon_id": coupon_id, "status": status, "carrier": carrier,
                                        "tracking_no": tracking_no}).fetchone()


def add_history(conn, coupon_id, action, actor=None, branch_id=None, reason=None, detail=None):
    conn.execute(HISTORY, {"coupon_id": coupon_id, "action": action, "branch_id": branch_id,
                           "actor": Jsonb(actor) if actor else None, "reason": reason,
                           "detail": Jsonb(detail) if detail else None})


def coupon_history(conn, coupon_id):
    return conn.execute(COUPON_HISTORY, {"coupon_id": coupon_id}).fetchall()


def expire_due(conn, as_of, limit):
    return conn.execute(EXPIRE_DUE, {"as_of": as_of, "limit": limit}).fetchall()


def warn_due(conn, as_of, until, limit):
    return conn.execute(WARN_DUE, {"as_of": as_of, "until": until, "limit": limit}).fetchall()


# --- reports -----------------------------------------------------------------------

REPORT = """
WITH facts AS (
    SELECT r.reward_id, r.branch_id, 1 AS redeemed, 0 AS used, 0 AS expired, r.points AS points_spent,
           r.settled_at AS at
    FROM redemptions r WHERE r.shop_id = %(shop_id)s AND r.state = 'completed' AND r.refund IS NULL
    UNION ALL
    SELECT c.reward_id, c.used_branch_id, 0, 1, 0, 0, c.used_at FROM coupons c
    WHERE c.shop_id = %(shop_id)s AND c.status = 'used'
    UNION ALL
    SELECT c.reward_id, NULL, 0, 0, 1, 0, c.expired_at FROM coupons c
    WHERE c.shop_id = %(shop_id)s AND c.status = 'expired'
)
SELECT f.reward_id, w.name AS reward_name, f.branch_id, sum(f.redeemed)::bigint AS redeemed,
       sum(f.used)::bigint AS used, sum(f.expired)::bigint AS expired, sum(f.points_spent)::bigint AS points_spent
FROM facts f JOIN rewards w USING (reward_id)
WHERE (%(start)s::timestamptz IS NULL OR f.at >= %(start)s) AND (%(end)s::timestamptz IS NULL OR f.at < %(end)s)
GROUP BY f.reward_id, w.name, f.branch_id
ORDER BY w.name, f.reward_id, f.branch_id NULLS FIRST
"""


def report(conn, shop_id, start, end):
    return conn.execute(REPORT, {"shop_id": shop_id, "start": start, "end": end}).fetchall()
