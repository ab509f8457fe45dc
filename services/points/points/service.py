"""Entrypoints of the points service: load the request, run the use case, dump the result."""
from nameko.rpc import rpc

from chassis import inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.rpc import RpcClient
from chassis.service import ServiceBase
from points import contracts, directory, errors, handlers, store


class PointsService(ServiceBase):
    name = "points"
    members = RpcClient("members")

    @rpc(expected_exceptions=errors.EXPECTED)
    def earn(self, request):
        """Record a counter sale for a phone and credit the points its spend earns.

        Idempotent on `idempotency_key` (per shop): a replay returns the first
        result; the key with another request is idempotency_key_reused. The same
        receipt at the same branch earns once (duplicate_receipt). Errors:
        invalid_input, shop_not_found, branch_not_found, earn_rule_missing.
        Event: points.earned.
        """
        cmd = load(contracts.EARN, request)
        result, replayed = directory.run(self.db, self.members, lambda conn: handlers.earn(conn, cmd, self.outbox))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_earn_rule(self, request):
        """Set the shop's earn rule (X points per Y baht, rounding down, optional minimum
        spend). Applies to sales after it; a change makes a new version, the same
        terms change nothing. Event: points.earn_rule_changed."""
        cmd = load(contracts.SetEarnRule(), request)
        rule, changed = directory.run(
            self.db, self.members, lambda conn: handlers.set_earn_rule(conn, cmd, self.outbox))
        return {**rule, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_earn_rule(self, request):
        """The shop's current earn rule, or earn_rule_missing."""
        cmd = load(contracts.AccountRef(only=("shop_id",)), request)
        with self.db.connection() as conn:
            rule = store.current_rule(conn, cmd["shop_id"])
        if rule is None:
            raise errors.earn_rule_missing(cmd["shop_id"])
        return contracts.EarnRule().dump(rule)

    @rpc(expected_exceptions=errors.EXPECTED)
    def balance(self, request):
        """The points balance of a phone in a shop, or account_not_found."""
        cmd = load(contracts.ACCOUNT_REF, request)
        with self.db.connection() as conn:
            return contracts.BALANCE.dump(store.balance(conn, cmd["shop_id"], cmd["phone"]))

    @event_handler("members", "shop_created.v1")
    def on_shop_created(self, body):
        """members.shop_created: keep the shop in the local copy (an upsert: idempotent)."""
        event = inbox.load_event(contracts.ShopCreatedData(), body)
        with self.db.transaction() as conn:
            store.upsert_shop(conn, event["data"]["shop_id"], event["data"]["timezone"])

    @event_handler("members", "branch_created.v1")
    def on_branch_created(self, body):
        """members.branch_created: keep the branch in the local copy. (Arriving before
        its shop's event, it fails on the foreign key and is retried after a back-off.)"""
        event = inbox.load_event(contracts.BranchCreatedData(), body)
        with self.db.transaction() as conn:
            store.upsert_branch(conn, event["data"]["branch_id"], event["data"]["shop_id"])
