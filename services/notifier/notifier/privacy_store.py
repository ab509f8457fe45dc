"""SQL of personal data (PDPA) in the notifier: a member's contact and messages, their
erasure (contact deleted, messages kept for the shop's counts but naming nobody and saying
nothing) and a cancelled shop's purge in chunks."""
MEMBER_CONTACT = "SELECT to_jsonb(c) AS record FROM contacts c WHERE shop_id = %(shop_id)s AND phone = %(phone)s"
MEMBER_MESSAGES = """
SELECT to_jsonb(m) AS record FROM messages m WHERE shop_id = %(shop_id)s AND phone = %(phone)s ORDER BY created_at
"""
DELETE_CONTACT = "DELETE FROM contacts WHERE shop_id = %(shop_id)s AND phone = %(phone)s RETURNING line_user_id"
# A queued message is not sent any more: skipped, with the reason.
ERASE_MESSAGES = """
UPDATE messages SET phone = %(pseudonym)s, recipient = NULL, body = '', flex = NULL,
       dedupe_key = replace(dedupe_key, %(phone)s, %(pseudonym)s),
       status = CASE WHEN status = 'queued' THEN 'skipped' ELSE status END,
       reason = CASE WHEN status = 'queued' THEN 'member erased' ELSE reason END
WHERE shop_id = %(shop_id)s AND phone = %(phone)s
"""
# Campaign multicasts hold LINE user ids: the member's goes; a queued batch left with no one fails.
ERASE_BATCH_RECIPIENT = """
UPDATE line_batches SET recipients = array_remove(recipients, %(line_user_id)s),
       status = CASE WHEN status = 'queued' AND recipients = ARRAY[%(line_user_id)s] THEN 'failed' ELSE status END,
       reason = CASE WHEN status = 'queued' AND recipients = ARRAY[%(line_user_id)s]
                     THEN 'member erased' ELSE reason END
WHERE shop_id = %(shop_id)s AND %(line_user_id)s = ANY(recipients)
"""
DELETE_MESSAGES = """
DELETE FROM messages WHERE message_id = ANY(ARRAY(SELECT message_id FROM messages WHERE shop_id = %(shop_id)s
                                                    LIMIT %(limit)s))
"""
DELETE_BATCHES = """
DELETE FROM line_batches WHERE batch_id = ANY(ARRAY(SELECT batch_id FROM line_batches WHERE shop_id = %(shop_id)s
                                                    LIMIT %(limit)s))
"""
DELETE_CONTACTS = """
DELETE FROM contacts WHERE (shop_id, phone) IN (SELECT shop_id, phone FROM contacts WHERE shop_id = %(shop_id)s
                                                LIMIT %(limit)s)
"""
DELETE_SHOP = [
    "DELETE FROM templates WHERE shop_id = %(shop_id)s",
    "DELETE FROM shop_channels WHERE shop_id = %(shop_id)s",
]


def member_records(conn, shop_id, phone):
    params = {"shop_id": shop_id, "phone": phone}
    contact = conn.execute(MEMBER_CONTACT, params).fetchone()
    return {"contact": contact["record"] if contact else None,
            "messages": [row["record"] for row in conn.execute(MEMBER_MESSAGES, params)]}


def erase(conn, shop_id, phone, pseudonym):
    """The number of messages that now name the pseudonym."""
    params = {"shop_id": shop_id, "phone": phone, "pseudonym": pseudonym}
    contact = conn.execute(DELETE_CONTACT, params).fetchone()
    if contact and contact["line_user_id"]:
        conn.execute(ERASE_BATCH_RECIPIENT, {**params, "line_user_id": contact["line_user_id"]})
    return conn.execute(ERASE_MESSAGES, params).rowcount


# purge steps in order: messages refer to batches by id (no key), contacts stand alone
PURGE_CHUNKS = {"messages": DELETE_MESSAGES, "line_batches": DELETE_BATCHES, "contacts": DELETE_CONTACTS}


def purge_chunk(conn, what, shop_id, limit):
    return conn.execute(PURGE_CHUNKS[what], {"shop_id": shop_id, "limit": limit}).rowcount


def purge_shop(conn, shop_id):
    for query in DELETE_SHOP:
        conn.execute(query, {"shop_id": shop_id})
