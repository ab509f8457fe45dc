"""Personal data (PDPA) in rewards, mixed into RewardsService: a member's redemptions and
coupons (with delivery addresses and coupon history) for the platform's data export;
erasure on members.erased (phone -> pseudonym erased:<member_id>, delivery addresses
removed); a cancelled shop's purge on members.shop_purged (every row of the shop, chunked)."""

from marshmallow import Schema, fields
from nameko.rpc import rpc

from chassis import inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.fields import PSEUDONYM, PhoneOrPseudonym
from chassis.inbox import EventData
from rewards import errors
from rewards import privacy_store as store

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
    """Delete the shop's coupons (with their history), then redemptions, chunk by chunk, then its
    rewards, code pools and copy of the shop with the inbox record. Resumable; safe to repeat."""
    shop_id = event["data"]["shop_id"]
    counts = {"coupons": 0, "redemptions": 0}
    for name, purge in (("coupons", store.purge_coupons_chunk), ("redemptions", store.purge_redemptions_chunk)):
        while True:
            with db.transaction() as conn:
                deleted = purge(conn, shop_id, chunk)
            counts[name] += deleted
            if deleted < chunk:
                break
    with db.transaction() as conn:
        if inbox.first_time(conn, handler, event):
            store.purge_shop(conn, shop_id)
    return counts


class Privacy:
    @rpc(expected_exceptions=errors.EXPECTED)
    def member_data(self, request):
        """Everything rewards holds on a phone (or an erased member's pseudonym) in a shop:
        redemptions (with delivery addresses) and coupons (with their history)."""
        cmd = load(MEMBER_DATA_REQUEST, request)
        with self.db.connection() as conn:
            records = store.member_records(conn, cmd["shop_id"], cmd["phone"])
        return {"service": "rewards", "phone": cmd["phone"], **records}

    @event_handler("members", "erased.v1")
    def on_member_erased(self, body):
        """members.erased: the member's redemptions and coupons carry the pseudonym, delivery
        addresses are removed; once per event (inbox), in one transaction."""
        event = inbox.load_event(MEMBER_ERASED, body)
        data = event["data"]
        with self.db.transaction() as conn:
            if not inbox.first_time(conn, "rewards.on_member_erased", event):
                return
            redemptions, coupons = store.erase(conn, event["shop_id"], data["phone"], data["pseudonym"])
        self.log.info("member_erased", member_id=str(data["member_id"]), redemptions=redemptions, coupons=coupons)

    @event_handler("members", "shop_purged.v1")
    def on_shop_purged(self, body):
        """members.shop_purged: delete every coupon, redemption, reward and code of the shop."""
        event = inbox.load_event(SHOP_PURGED, body)
        counts = purge_shop(self.db, "rewards.on_shop_purged", event)
        self.log.info("shop_purged", shop_id=str(event["data"]["shop_id"]), **counts)
