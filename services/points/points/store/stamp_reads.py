"""A member's stamp cards, history and tickets, stamp statistics, and tickets' coupons (from the
rewards service's events, so "tickets used" is answered locally): their SQL."""
# --- reads: a member's cards and history, statistics ------------------------------------
MEMBER_CARDS = """
SELECT m.card_id, c.name, c.status, c.stamps_to_fill, c.tickets, m.stamps, m.card_no, m.started_at, m.expires_at,
       m.cards_completed
FROM stamp_card_members m JOIN stamp_cards c ON c.card_id = m.card_id
WHERE m.shop_id = %(shop_id)s AND m.phone = %(phone)s ORDER BY c.created_at DESC
"""
MEMBER_ENTRIES = """
SELECT entry_id, card_id, phone, kind, stamps, stamps_after, card_no, opens_card, branch_id, source, reason,
       ref_entry_id, unrecovered, created_at
FROM stamp_entries WHERE shop_id = %(shop_id)s AND phone = %(phone)s
AND (%(before)s::bigint IS NULL OR entry_id < %(before)s) ORDER BY entry_id DESC LIMIT %(limit)s
"""
MEMBER_TICKETS = """
SELECT ticket_id, card_id, phone, card_no, at_stamps, reward_id, branch_id, entry_id, created_at, coupon_id,
       coupon_code, used_at FROM stamp_tickets WHERE shop_id = %(shop_id)s AND phone = %(phone)s
ORDER BY created_at DESC, at_stamps DESC LIMIT 200
"""
STATS = """
WITH e AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, branch_id,
           count(*) FILTER (WHERE opens_card) AS cards_issued,
           coalesce(sum(stamps) FILTER (WHERE kind IN ('grant', 'welcome')), 0) AS stamps_given,
           coalesce(-sum(stamps) FILTER (WHERE kind = 'void'), 0) AS stamps_voided
    FROM stamp_entries WHERE shop_id = %(shop_id)s AND created_at >= %(start)s AND created_at < %(end)s
    AND (%(branch_id)s::uuid IS NULL OR branch_id = %(branch_id)s) GROUP BY 1, 2
), issued AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, branch_id, count(*) AS tickets_issued
    FROM stamp_tickets WHERE shop_id = %(shop_id)s AND created_at >= %(start)s AND created_at < %(end)s
    AND (%(branch_id)s::uuid IS NULL OR branch_id = %(branch_id)s) GROUP BY 1, 2
), used AS (
    SELECT (used_at AT TIME ZONE %(tz)s)::date AS day, used_branch_id AS branch_id, count(*) AS tickets_used
    FROM stamp_tickets WHERE shop_id = %(shop_id)s AND used_at >= %(start)s AND used_at < %(end)s
    AND (%(branch_id)s::uuid IS NULL OR used_branch_id = %(branch_id)s) GROUP BY 1, 2
)
SELECT day, branch_id, coalesce(cards_issued, 0) AS cards_issued, coalesce(stamps_given, 0) AS stamps_given,
       coalesce(stamps_voided, 0) AS stamps_voided, coalesce(tickets_issued, 0) AS tickets_issued,
       coalesce(tickets_used, 0) AS tickets_used
FROM e FULL JOIN issued USING (day, branch_id) FULL JOIN used USING (day, branch_id)
ORDER BY day, branch_id NULLS FIRST
"""
SET_TICKET_COUPON = """UPDATE stamp_tickets SET coupon_id = %(coupon_id)s, coupon_code = %(code)s
WHERE ticket_id = %(ticket_id)s AND shop_id = %(shop_id)s"""
SET_TICKET_USED = """UPDATE stamp_tickets SET used_at = %(used_at)s, used_branch_id = %(branch_id)s
WHERE ticket_id = %(ticket_id)s AND shop_id = %(shop_id)s"""


def member_cards(conn, shop_id, phone):
    return conn.execute(MEMBER_CARDS, {"shop_id": shop_id, "phone": phone}).fetchall()


def member_entries(conn, shop_id, phone, limit, before):
    return conn.execute(MEMBER_ENTRIES, {"shop_id": shop_id, "phone": phone, "limit": limit,
                                         "before": before}).fetchall()


def member_tickets(conn, shop_id, phone):
    return conn.execute(MEMBER_TICKETS, {"shop_id": shop_id, "phone": phone}).fetchall()


def stats(conn, shop_id, tz, start, end, branch_id):
    return conn.execute(STATS, {"shop_id": shop_id, "tz": tz, "start": start, "end": end,
                                "branch_id": branch_id}).fetchall()


def set_ticket_coupon(conn, shop_id, ticket_id, coupon_id, code):
    conn.execute(SET_TICKET_COUPON, {"shop_id": shop_id, "ticket_id": ticket_id, "coupon_id": coupon_id,
                                     "code": code})


def set_ticket_used(conn, shop_id, ticket_id, used_at, branch_id):
    conn.execute(SET_TICKET_USED, {"shop_id": shop_id, "ticket_id": ticket_id, "used_at": used_at,
                                   "branch_id": branch_id})
