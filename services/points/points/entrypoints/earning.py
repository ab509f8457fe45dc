"""Earning at the counter, earn rules, points settings."""
from nameko.rpc import rpc

from chassis.errors import load
from points import contracts, directory, errors, handlers, store


class Earning:
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
        result, replayed = directory.run(self.db, self.members, lambda conn: handlers.earn(conn, cmd, self.outbox),
                                         transaction=False)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_earn_rule(self, request):
        """Set the earn rule of the shop, or of one branch (branch_id): X points per Y baht,
        rounding down, optional minimum spend. Applies to sales after it; new terms make a
        new version, the same terms change nothing. Event: points.earn_rule_changed."""
        cmd = load(contracts.SetEarnRule(), request)
        rule, changed = directory.run(
            self.db, self.members, lambda conn: handlers.set_earn_rule(conn, cmd, self.outbox))
        return {**rule, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def remove_branch_rule(self, request):
        """The branch earns by the shop's rule again. Event: points.earn_rule_changed (removed)."""
        cmd = load(contracts.BranchRef(), request)
        rule, changed = directory.run(
            self.db, self.members, lambda conn: handlers.remove_branch_rule(conn, cmd, self.outbox))
        return {"rule": rule, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_earn_rule(self, request):
        """The shop's own earn rule, or earn_rule_missing."""
        cmd = load(contracts.ShopRef(), request)
        with self.db.connection() as conn:
            rule = store.sales.newest_rule(conn, cmd["shop_id"])
        if rule is None:
            raise errors.earn_rule_missing(cmd["shop_id"])
        return contracts.EarnRule().dump(rule)

    @rpc(expected_exceptions=errors.EXPECTED)
    def save_settings(self, request):
        """Set expiry (months 1-24, year_end or never: applies to points credited from now on),
        warning days, welcome points and QR minutes. Event: points.settings_changed."""
        cmd = load(contracts.SaveSettings(), request)
        return directory.run(self.db, self.members, lambda conn: handlers.save_settings(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_settings(self, request):
        """The shop's points settings (defaults when never set)."""
        cmd = load(contracts.ShopRef(), request)
        return directory.run(self.db, self.members, lambda conn: handlers.read_settings(conn, cmd["shop_id"]))
