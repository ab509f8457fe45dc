"""Reward tickets of stamp cards, issued as coupons.

The points service publishes stamps.ticket_earned when a member's stamp card reaches one of
its ticket counts; each ticket becomes one coupon of the reward the card design names,
born through `coupons.issue_batch` (the issue RPC's path, hence `coupons.issue`) with source
`stamp_card` and source_ref the ticket id, idempotent on `stamp_ticket:<ticket_id>` (and the
inbox). A reward that can no longer be issued (archived, ended, out of stock) is a refusal no
retry can fix: the event goes to the dead-letter queue, for ops to see and replay.
"""
from marshmallow import fields

from chassis import idempotency, inbox
from chassis.events import event_handler
from chassis.fields import Phone
from chassis.inbox import EventData
from rewards import coupons, shops

SYSTEM = {"type": "system", "id": "stamps"}


class TicketEarnedData(EventData):
    ticket_id = fields.UUID(required=True)
    card_id = fields.UUID(required=True)
    phone = Phone(required=True)
    reward_id = fields.UUID(required=True)
    card_no = fields.Integer(load_default=None)
    at_stamps = fields.Integer(load_default=None)


TICKET_EARNED_DATA = TicketEarnedData()


class StampTickets:
    @event_handler("stamps", "ticket_earned.v1")
    def on_stamp_ticket_earned(self, body):
        """stamps.ticket_earned: one coupon of the ticket's reward for the member, once per ticket.
        Event: rewards.coupons_issued (source stamp_card, source_ref the ticket id)."""
        event = inbox.load_event(TICKET_EARNED_DATA, body)
        shop_id, data = event["shop_id"], event["data"]
        shops.ensure(self.db, self.members, shop_id)
        key = f"stamp_ticket:{data['ticket_id']}"
        cmd = {"idempotency_key": key, "shop_id": shop_id, "reward_id": data["reward_id"],
               "phones": [data["phone"]], "source": "stamp_card", "source_ref": str(data["ticket_id"]),
               "actor": SYSTEM}
        with self.db.transaction() as conn:
            if not inbox.first_time(conn, "rewards.stamp_tickets", event):
                return
            result, _ = idempotency.run_once(conn, f"issue:{shop_id}", key, key,
                                             lambda: coupons.issue_batch(self.db, conn, cmd, self.outbox))
        self.log.info("stamp_ticket_issued", ticket_id=str(data["ticket_id"]), reward_id=str(data["reward_id"]),
                      coupons=result["issued"])
