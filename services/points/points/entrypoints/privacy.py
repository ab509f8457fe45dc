"""Personal data (PDPA): a member's points records, erasure and a cancelled shop's purge."""
from nameko.rpc import rpc

from chassis import inbox
from chassis.errors import load
from chassis.events import event_handler
from points import errors, privacy


class Privacy:
    @rpc(expected_exceptions=errors.EXPECTED)
    def member_data(self, request):
        """Everything points holds on a phone (or an erased member's pseudonym) in a shop:
        account, entries, lots, sales, orders, spends, QR claims and printed-QR scans.
        Empty lists (account null) for a phone points never saw."""
        cmd = load(privacy.MEMBER_DATA_REQUEST, request)
        with self.db.connection() as conn:
            data = privacy.member_data(conn, cmd)
        return {**data, "account": data["account"][0] if data["account"] else None}

    @event_handler("members", "erased.v1")
    def on_member_erased(self, body):
        """members.erased: the member's account, ledger and QR records carry the pseudonym
        instead of the phone (balances and entries unchanged). Once per event (inbox)."""
        event = inbox.load_event(privacy.MEMBER_ERASED, body)
        rekeyed = privacy.erase(self.db, "points.on_member_erased", event)
        self.log.info("member_erased", member_id=str(event["data"]["member_id"]), account_rekeyed=rekeyed)

    @event_handler("members", "shop_purged.v1")
    def on_shop_purged(self, body):
        """members.shop_purged: delete the shop's accounts, ledger, sales, codes, rules and
        settings, in chunks. Safe to receive twice."""
        event = inbox.load_event(privacy.SHOP_PURGED, body)
        accounts = privacy.purge_shop(self.db, "points.on_shop_purged", event)
        self.log.info("shop_purged", shop_id=str(event["data"]["shop_id"]), accounts=accounts)
