"""Personal data (PDPA) in the points service: a member's records (for the platform's data
export), erasure on members.erased, and the purge of a shop on members.shop_purged.

Erasure re-keys the account from the phone to the pseudonym erased:<member_id>, with every
entry, lot, sale, spend and order: the balance, the entries and the lots are the same rows
with the same amounts, so balance = sum of entries = sum of lots still holds, and shop
totals (points issued, spent, outstanding) are unchanged; they name no person any more.
"""
import datetime

from marshmallow import Schema, fields

from chassis import inbox
from chassis.fields import PSEUDONYM, PhoneOrPseudonym
from chassis.inbox import EventData
from points.store import privacy as store

PURGE_CHUNK = 5_000


class MemberDataRequest(Schema):
    shop_id = fields.UUID(required=True)
    phone = PhoneOrPseudonym(required=True)


class MemberErased(EventData):
    """members.erased v1, as points reads it."""

    member_id = fields.UUID(required=True)
    phone = PhoneOrPseudonym(required=True)
    pseudonym = fields.String(required=True, validate=lambda text: bool(PSEUDONYM.match(text)))


class ShopPurged(EventData):
    """members.shop_purged v1, as points reads it."""

    shop_id = fields.UUID(required=True)


MEMBER_DATA_REQUEST = MemberDataRequest()
MEMBER_ERASED = MemberErased()
SHOP_PURGED = ShopPurged()


def member_data(conn, cmd):
    """Everything points holds on one phone (or pseudonym) of a shop, JSON-ready."""
    return {"service": "points", "phone": cmd["phone"], **store.member_records(conn, cmd["shop_id"], cmd["phone"])}


def erase(db, handler, event):
    """members.erased: re-key the member's account and records to the pseudonym, once (inbox),
    in one transaction."""
    with db.transaction() as conn:
        if not inbox.first_time(conn, handler, event):
            return None
        data = event["data"]
        at = datetime.datetime.now(datetime.UTC)
        return store.erase(conn, event["shop_id"], data["phone"], data["pseudonym"], at)


def purge_shop(db, handler, event, chunk=PURGE_CHUNK):
    """members.shop_purged: delete every account of the shop with its ledger, chunk by chunk
    (each chunk committed), then the shop's own rows and the inbox record together. A retried
    event resumes where the last one stopped; a repeated one finds nothing left."""
    shop_id = event["data"]["shop_id"]
    accounts = 0
    while True:
        with db.transaction() as conn:
            deleted = store.purge_accounts_chunk(conn, shop_id, chunk)
        accounts += deleted
        if deleted < chunk:
            break
    with db.transaction() as conn:
        if inbox.first_time(conn, handler, event):
            store.purge_shop(conn, shop_id)
    return accounts
