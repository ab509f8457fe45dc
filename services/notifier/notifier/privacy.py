"""Personal data (PDPA) in the notifier, mixed into NotifierService: a member's contact and
messages for the platform's data export; erasure on members.erased (contact deleted, LINE
user id taken out of campaign batches, messages re-keyed to the pseudonym erased:<member_id>
with recipient and text removed, queued ones skipped); a cancelled shop's purge on
members.shop_purged (every row of the shop, chunked)."""

from marshmallow import Schema, fields
from nameko.rpc import rpc

from chassis import errors, inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.fields import PSEUDONYM, PhoneOrPseudonym
from chassis.inbox import EventData
from notifier import privacy_store as store

PURGE_CHUNK = 5_000


class MemberDataRequest(Schema):
    shop_id = fields.UUID(required=True)
    phone = PhoneOrPseudonym(required=True)


class MemberErased(EventData):
    member_id = fields.UUID(required=True)
    phone = PhoneOrPseudonym(required=True)
    pseudonym = fields.String(required=True, validate=lambda text: bool(PSEUDONYM.match(text)))


class ShopPurged(EventData):
    shop_id = fields.UUID(required=True)


MEMBER_DATA_REQUEST = MemberDataRequest()
MEMBER_ERASED = MemberErased()
SHOP_PURGED = ShopPurged()


def purge_shop(db, handler, event, chunk=PURGE_CHUNK):
    """Delete the shop's messages, campaign batches and contacts chunk by chunk, then its templates
    and channels (secrets included) with the inbox record. Resumable; safe to repeat."""
    shop_id = event["data"]["shop_id"]
    counts = dict.fromkeys(store.PURGE_CHUNKS, 0)
    for what in store.PURGE_CHUNKS:
        while True:
            with db.transaction() as conn:
                deleted = store.purge_chunk(conn, what, shop_id, chunk)
            counts[what] += deleted
            if deleted < chunk:
                break
    with db.transaction() as conn:
        if inbox.first_time(conn, handler, event):
            store.purge_shop(conn, shop_id)
    return counts


class Privacy:
    @rpc(expected_exceptions=errors.EXPECTED)
    def member_data(self, request):
        """Everything the notifier holds on a phone (or an erased member's pseudonym) in a shop:
        the contact (LINE user id, opt-outs, language, name) and every message sent or queued."""
        cmd = load(MEMBER_DATA_REQUEST, request)
        with self.db.connection() as conn:
            records = store.member_records(conn, cmd["shop_id"], cmd["phone"])
        return {"service": "notifier", "phone": cmd["phone"], **records}

    @event_handler("members", "erased.v1")
    def on_member_erased(self, body):
        """members.erased: forget the member's contact; their messages name the pseudonym and keep
        no recipient nor text; queued ones are skipped. Once per event (inbox)."""
        event = inbox.load_event(MEMBER_ERASED, body)
        data = event["data"]
        with self.db.transaction() as conn:
            if not inbox.first_time(conn, "notifier.on_member_erased", event):
                return
            messages = store.erase(conn, event["shop_id"], data["phone"], data["pseudonym"])
        self.log.info("member_erased", member_id=str(data["member_id"]), messages=messages)

    @event_handler("members", "shop_purged.v1")
    def on_shop_purged(self, body):
        """members.shop_purged: delete every message, batch, contact, template and channel of the shop."""
        event = inbox.load_event(SHOP_PURGED, body)
        counts = purge_shop(self.db, "notifier.on_shop_purged", event)
        self.log.info("shop_purged", shop_id=str(event["data"]["shop_id"]), **counts)
