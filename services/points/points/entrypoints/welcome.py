"""Welcome points: credited once to each member who registers, when the shop gives them."""
from chassis import inbox
from chassis.events import event_handler
from points import directory, event_contracts, spending, store


class Welcome:
    @event_handler("members", "registered.v1")
    def on_member_registered(self, body):
        """members.registered: the shop's welcome points (settings `welcome_points`, 0 = none)
        as a `welcome` credit, idempotent on `welcome:<member_id>` (a member registers once;
        a redelivered event is also stopped by the inbox). Event: points.earned (kind welcome)."""
        event = inbox.load_event(event_contracts.MemberRegisteredData(), body)
        directory.run(self.db, self.members, lambda conn: self._welcome(conn, event))

    def _welcome(self, conn, event):
        if not inbox.first_time(conn, "points.on_member_registered", event):
            return
        shop_id, data = event["shop_id"], event["data"]
        _, settings, _ = store.sales.earn_context(conn, shop_id, None, need_rule=False)
        if settings.welcome_points <= 0:
            return
        spending.credit(conn, {
            "idempotency_key": f"welcome:{data['member_id']}", "fingerprint": f"welcome:{data['member_id']}",
            "shop_id": shop_id, "phone": data["phone"], "points": settings.welcome_points, "kind": "welcome",
            "source": "welcome", "reason": "welcome points", "branch_id": None,
            "actor": {"type": "system", "id": "members.registered"}}, self.outbox)
