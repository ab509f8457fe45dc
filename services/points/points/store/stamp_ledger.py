"""Members' cards, the stamp ledger and tickets: grants, voids, and closing members' cards
(expiry as of a time, a suspension's reset): their SQL.

The grant path is two statements: one claims the code (or counts the printed scan), opens
the account and member card if new, locks the member's card row and reads the card; one
inserts the entries (the trigger moves the stamps), the tickets and the events (outbox rows).
"""
import psycopg.errors
from psycopg.types.json import Jsonb

from chassis import outbox
from points import errors, stamp_domain

MEMBER_COLUMNS = "held, entry_seq, card_no, started_at, expires_at"
# --- grants ----------------------------------------------------------------------------
CARD_FOR_GRANT = """c.card_id, c.status, c.name, c.stamps_to_fill, c.rule_mode, c.stamps_per_visit, c.unit_satang,
    c.max_per_purchase, c.tickets, c.welcome_stamps, c.validity_mode, c.valid_until, c.valid_days"""
MEMBER_UPSERT = """
INSERT INTO stamp_card_members (card_id, phone, shop_id) SELECT {card}.card_id, %(phone)s, %(shop_id)s FROM {source}
ON CONFLICT (card_id, phone) DO UPDATE SET shop_id = EXCLUDED.shop_id
RETURNING stamps AS held, entry_seq, card_no, started_at, expires_at
"""
CLAIM_ONE_TIME = f"""
WITH qr AS (
    UPDATE stamp_qrs SET claimed_at = %(now)s, claimed_phone = %(phone)s
    WHERE shop_id = %(shop_id)s AND qr_id = %(qr_id)s AND claimed_at IS NULL AND expires_at > %(now)s
    RETURNING qr_id, card_id, branch_id, stamps AS qr_stamps
), account AS (
    INSERT INTO accounts (shop_id, phone) SELECT %(shop_id)s, %(phone)s FROM qr ON CONFLICT DO NOTHING
), member AS ({MEMBER_UPSERT.format(card="qr", source="qr")})
SELECT qr.qr_id, qr.branch_id, qr.qr_stamps, s.timezone, {CARD_FOR_GRANT}, {MEMBER_COLUMNS}
FROM qr JOIN stamp_cards c ON c.card_id = qr.card_id JOIN shops s ON s.shop_id = c.shop_id, member
"""
CLAIM_PRINTED = f"""
WITH shop AS (
    SELECT timezone FROM shops WHERE shop_id = %(shop_id)s
), prior AS (
    SELECT entry_id FROM stamp_entries WHERE shop_id = %(shop_id)s AND idempotency_key = %(key)s
), printed AS (
    SELECT branch_id, enabled, stamps, daily_limit, generation FROM stamp_printed_qrs
    WHERE shop_id = %(shop_id)s AND branch_id = %(branch_id)s
), card AS (
    SELECT {CARD_FOR_GRANT} FROM stamp_cards c WHERE c.shop_id = %(shop_id)s AND c.status = 'active'
), scan AS (
    INSERT INTO stamp_printed_scans AS s (branch_id, phone, day, scans)
    SELECT p.branch_id, %(phone)s, (%(now)s::timestamptz AT TIME ZONE shop.timezone)::date, 1
    FROM printed p, shop, card
    WHERE p.enabled AND p.generation = %(generation)s AND NOT EXISTS (SELECT 1 FROM prior)
    ON CONFLICT (branch_id, phone, day) DO UPDATE SET scans = s.scans + 1
    WHERE s.scans < (SELECT q.daily_limit FROM stamp_printed_qrs q WHERE q.branch_id = s.branch_id)
    RETURNING scans
), account AS (
    INSERT INTO accounts (shop_id, phone) SELECT %(shop_id)s, %(phone)s FROM scan ON CONFLICT DO NOTHING
), member AS ({MEMBER_UPSERT.format(card="card", source="card, scan")})
SELECT shop.timezone, (SELECT entry_id FROM prior) AS prior_entry_id, p.enabled, p.stamps AS printed_stamps,
       p.daily_limit, p.generation, scan.scans, card.*, member.*
FROM shop LEFT JOIN printed p ON true LEFT JOIN card ON true LEFT JOIN scan ON true LEFT JOIN member ON true
"""
# The grant's entries in order (each moves the member's stamps in its trigger) and the
# tickets it earns, once per card number and stamp count.
GRANT = """
WITH e AS (
    INSERT INTO stamp_entries (shop_id, card_id, phone, kind, stamps, stamps_after, member_seq, card_no,
        card_started_at, card_expires_at, opens_card, branch_id, source, actor_type, actor_id, ref,
        idempotency_key, fingerprint, created_at)
    SELECT %(shop_id)s, %(card_id)s, %(phone)s, x.kind, x.stamps, 0, 0, x.card_no, x.started, x.expires, x.opens,
           %(branch_id)s, %(source)s, %(actor_type)s, %(actor_id)s, %(ref)s, x.key, x.fp, %(now)s
    FROM unnest(%(kinds)s::text[], %(stamps)s::int[], %(card_nos)s::int[], %(starts)s::timestamptz[],
                %(expires)s::timestamptz[], %(opens)s::bool[], %(keys)s::text[], %(fps)s::text[])
         WITH ORDINALITY AS x (kind, stamps, card_no, started, expires, opens, key, fp, n)
    ORDER BY x.n
    RETURNING entry_id, kind, stamps, stamps_after, card_no
), t AS (
    INSERT INTO stamp_tickets (ticket_id, shop_id, card_id, phone, card_no, at_stamps, reward_id, entry_id,
                               branch_id, created_at)
    SELECT y.ticket_id, %(shop_id)s, %(card_id)s, %(phone)s, y.card_no, y.at, y.reward_id,
           (SELECT entry_id FROM e WHERE kind = 'grant'), %(branch_id)s, %(now)s
    FROM unnest(%(ticket_ids)s::uuid[], %(ticket_card_nos)s::int[], %(ticket_ats)s::int[],
                %(ticket_rewards)s::uuid[]) AS y (ticket_id, card_no, at, reward_id)
    ON CONFLICT (card_id, phone, card_no, at_stamps) DO NOTHING
    RETURNING ticket_id
), o AS (
    -- the grant's events (outbox rows), each naming the grant entry; a ticket's only if it is new
    INSERT INTO outbox (event_id, exchange, routing_key, envelope, headers)
    SELECT x.event_id, x.exchange, x.routing_key,
           jsonb_set(x.envelope, '{data,entry_id}', to_jsonb((SELECT entry_id FROM e WHERE kind = 'grant'))),
           %(headers)s
    FROM unnest(%(event_ids)s::uuid[], %(exchanges)s::text[], %(routing_keys)s::text[], %(envelopes)s::jsonb[],
                %(event_tickets)s::uuid[]) AS x (event_id, exchange, routing_key, envelope, ticket_id)
    WHERE x.ticket_id IS NULL OR x.ticket_id IN (SELECT ticket_id FROM t)
)
SELECT (SELECT json_agg(json_build_object('entry_id', entry_id, 'kind', kind, 'stamps', stamps,
                                          'stamps_after', stamps_after, 'card_no', card_no) ORDER BY entry_id)
        FROM e) AS entries,
       ARRAY(SELECT ticket_id FROM t) AS tickets
"""
# A grant as first answered: its grant entry, the member's stamps after the whole grant (the
# completions that followed it in the same statement share its time) and its tickets.
GRANT_BY_KEY = """
SELECT e.entry_id, e.card_id, e.phone, e.stamps, e.card_no, e.fingerprint, e.branch_id, e.created_at,
       c.stamps_to_fill,
       coalesce((SELECT x.stamps_after FROM stamp_entries x WHERE x.card_id = e.card_id AND x.phone = e.phone
                 AND x.member_seq > e.member_seq AND x.kind = 'complete' AND x.created_at = e.created_at
                 ORDER BY x.member_seq DESC LIMIT 1), e.stamps_after) AS stamps_after,
       (SELECT coalesce(max(x.card_no), e.card_no) FROM stamp_entries x WHERE x.card_id = e.card_id
        AND x.phone = e.phone AND x.member_seq > e.member_seq AND x.created_at = e.created_at) AS card_no_after,
       ARRAY(SELECT t.ticket_id FROM stamp_tickets t WHERE t.entry_id = e.entry_id) AS tickets,
       (SELECT coalesce(sum(x.stamps), 0) FROM stamp_entries x WHERE x.card_id = e.card_id AND x.phone = e.phone
        AND x.kind = 'welcome' AND x.member_seq = e.member_seq - 1 AND x.created_at = e.created_at) AS welcome
FROM stamp_entries e JOIN stamp_cards c ON c.card_id = e.card_id
WHERE e.shop_id = %(shop_id)s AND e.idempotency_key = %(key)s
"""
TICKETS = """SELECT ticket_id, card_id, phone, card_no, at_stamps, reward_id, branch_id, entry_id, created_at,
    coupon_id, coupon_code, used_at FROM stamp_tickets WHERE ticket_id = ANY(%(ids)s) ORDER BY card_no, at_stamps"""
# --- voids -----------------------------------------------------------------------------
LOCK_MEMBER = """SELECT stamps, entry_seq, card_no, started_at, expires_at FROM stamp_card_members
WHERE card_id = %(card_id)s AND phone = %(phone)s FOR UPDATE"""
ENTRY = """SELECT entry_id, shop_id, card_id, phone, kind, stamps, card_no, branch_id, created_at FROM stamp_entries
WHERE shop_id = %(shop_id)s AND entry_id = %(entry_id)s"""
VOID_OF = """SELECT entry_id, stamps, unrecovered, stamps_after, fingerprint, idempotency_key FROM stamp_entries
WHERE ref_entry_id = %(entry_id)s AND kind = 'void'"""
INSERT_VOID = """
INSERT INTO stamp_entries (shop_id, card_id, phone, kind, stamps, stamps_after, member_seq, card_no,
    card_started_at, card_expires_at, branch_id, source, actor_type, actor_id, reason, ref_entry_id, unrecovered,
    idempotency_key, fingerprint, created_at)
VALUES (%(shop_id)s, %(card_id)s, %(phone)s, 'void', %(stamps)s, 0, 0, %(card_no)s, %(started_at)s, %(expires_at)s,
    %(branch_id)s, 'staff', %(actor_type)s, %(actor_id)s, %(reason)s, %(ref_entry_id)s, %(unrecovered)s,
    %(key)s, %(fingerprint)s, %(now)s)
RETURNING entry_id, stamps_after
"""
# --- closing members' cards: expiry (as of), a suspension's reset -----------------------
CLOSE_CHUNK = """
WITH due AS (
    SELECT m.card_id, m.phone, m.shop_id, m.stamps, m.card_no FROM stamp_card_members m
    WHERE {where} ORDER BY m.card_id, m.phone LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), closed AS (
    INSERT INTO stamp_entries (shop_id, card_id, phone, kind, stamps, stamps_after, member_seq, card_no, source,
                               actor_type, created_at)
    SELECT shop_id, card_id, phone, %(kind)s, -stamps, 0, 0, card_no + 1, 'system', 'system', %(now)s
    FROM due WHERE stamps > 0
    RETURNING entry_id, card_id, phone
), emptied AS (
    UPDATE stamp_card_members m SET card_no = m.card_no + 1, started_at = NULL, expires_at = NULL
    FROM due WHERE m.card_id = due.card_id AND m.phone = due.phone AND due.stamps = 0
)
SELECT due.shop_id, due.card_id, due.phone, due.stamps, due.card_no FROM due
"""
EXPIRE_WHERE = "m.started_at IS NOT NULL AND m.expires_at <= %(as_of)s"
RESET_WHERE = "m.card_id = %(card_id)s AND (m.stamps > 0 OR m.started_at IS NOT NULL)"
SUSPENDED_PENDING = """SELECT card_id, shop_id FROM stamp_cards WHERE status = 'suspended' AND reset_done_at IS NULL
ORDER BY suspended_at"""
RESET_DONE = "UPDATE stamp_cards SET reset_done_at = %(now)s WHERE card_id = %(card_id)s AND reset_done_at IS NULL"
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(%(name)s)) AS locked"
UNLOCK = "SELECT pg_advisory_unlock(hashtext(%(name)s))"


class KeyTaken(Exception):
    """A concurrent request with the same idempotency key committed first: answer its result."""


def claim_one_time(conn, shop_id, qr_id, phone, now):
    return conn.execute(CLAIM_ONE_TIME, {"shop_id": shop_id, "qr_id": qr_id, "phone": phone, "now": now}).fetchone()


def claim_printed(conn, shop_id, branch_id, generation, phone, key, now):
    return conn.execute(CLAIM_PRINTED, {"shop_id": shop_id, "branch_id": branch_id, "generation": generation,
                                        "phone": phone, "key": key, "now": now}).fetchone()


def grant(conn, *, entries, tickets, events, headers, **common):
    """Insert the entries (in order), tickets [(ticket_id, card_no, at, reward_id)] and events
    [(event_type, shop_id, data, ticket_id or None)] of a grant, in one statement. Each event's
    `data.entry_id` becomes the grant entry's id; a ticket's event is written only if the ticket is new."""
    envelopes = [(outbox.routing_key(event_type, 1), outbox.envelope(event_type, 1, shop_id, data), ticket)
                 for event_type, shop_id, data, ticket in events]
    params = {**common, "headers": Jsonb(headers or {}),
              "event_ids": [env["event_id"] for _, env, _ in envelopes],
              "exchanges": [f"{source}.events" for (source, _), _, _ in envelopes],
              "routing_keys": [key for (_, key), _, _ in envelopes],
              "envelopes": [Jsonb(env) for _, env, _ in envelopes],
              "event_tickets": [ticket for _, _, ticket in envelopes],
              "kinds": [e["kind"] for e in entries], "stamps": [e["stamps"] for e in entries],
              "card_nos": [e["card_no"] for e in entries], "starts": [e["card_started_at"] for e in entries],
              "expires": [e["card_expires_at"] for e in entries], "opens": [e["opens_card"] for e in entries],
              "keys": [e.get("idempotency_key") for e in entries], "fps": [e.get("fingerprint") for e in entries],
              "ticket_ids": [t[0] for t in tickets], "ticket_card_nos": [t[1] for t in tickets],
              "ticket_ats": [t[2] for t in tickets], "ticket_rewards": [t[3] for t in tickets]}
    try:
        return conn.execute(GRANT, params).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "stamp_entries_shop_id_idempotency_key_key":
            raise KeyTaken() from None
        raise
    except psycopg.errors.ObjectNotInPrerequisiteState:
        raise stamp_domain.no_active_card() from None


def grant_by_key(conn, shop_id, key):
    return conn.execute(GRANT_BY_KEY, {"shop_id": shop_id, "key": key}).fetchone()


def tickets(conn, ids):
    return conn.execute(TICKETS, {"ids": list(ids)}).fetchall() if ids else []


def lock_member(conn, card_id, phone):
    return conn.execute(LOCK_MEMBER, {"card_id": card_id, "phone": phone}).fetchone()


def entry(conn, shop_id, entry_id):
    found = conn.execute(ENTRY, {"shop_id": shop_id, "entry_id": entry_id}).fetchone()
    if found is None:
        raise errors.entry_not_found(entry_id)
    return found


def void_of(conn, entry_id):
    return conn.execute(VOID_OF, {"entry_id": entry_id}).fetchone()


def insert_void(conn, **void):
    try:
        return conn.execute(INSERT_VOID, void).fetchone()
    except psycopg.errors.UniqueViolation:
        raise KeyTaken() from None


def close_chunk(conn, kind, where, now, limit, as_of=None, card_id=None):
    return conn.execute(CLOSE_CHUNK.format(where=where), {"kind": kind, "now": now, "as_of": as_of or now,
                                                         "limit": limit, "card_id": card_id}).fetchall()


def suspended_pending(conn):
    return conn.execute(SUSPENDED_PENDING).fetchall()


def reset_done(conn, card_id, now):
    conn.execute(RESET_DONE, {"card_id": card_id, "now": now})


def try_lock(conn, name):
    return conn.execute(TRY_LOCK, {"name": name}).fetchone()["locked"]


def unlock(conn, name):
    conn.execute(UNLOCK, {"name": name})
