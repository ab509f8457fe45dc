"""Member tiers: settings (versioned), the dry run, a member's tier and its history, the cycle job."""
from nameko.rpc import rpc
from nameko.timer import timer

from chassis.errors import load
from members import errors, jobs, tier_contracts, tier_handlers

SETTINGS = tier_contracts.Settings()
MEMBER_TIER = tier_contracts.MemberTier()
HISTORY = tier_contracts.History()
DRY_RUN = tier_contracts.DryRunResult()


class Tiers:
    @rpc(expected_exceptions=errors.EXPECTED)
    def set_tier_settings(self, request):
        """Set the shop's tiers (1-5, thresholds strictly increasing, names unique), window
        (1, 3, 6 or 12 months) and downgrade rule (tier_expiry with months, or cycle). A new
        version applies from each member's next earn and at the next cycle end or expiry.
        Idempotent on the terms: the same terms again answer the current version with
        changed false. Errors: invalid_input (naming the field), shop_not_found.
        Event: members.tier_settings_changed."""
        cmd = load(tier_contracts.TierTerms(), request)
        with self.db.transaction() as conn:
            return SETTINGS.dump(tier_handlers.set_settings(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_tier_settings(self, request):
        """The shop's current tier settings, or tier_settings_not_found."""
        cmd = load(tier_contracts.ShopRef(), request)
        with self.db.connection() as conn:
            return SETTINGS.dump(tier_handlers.get_settings(conn, cmd["shop_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def dry_run_tier_settings(self, request):
        """How many members would move up, down or stay if these settings applied as of
        `as_of` (default now). Writes nothing. Errors: invalid_input, shop_not_found."""
        cmd = load(tier_contracts.DryRun(), request)
        with self.db.connection() as conn:
            return DRY_RUN.dump(tier_handlers.dry_run(conn, cmd, tier_handlers.now()))

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_tier(self, request):
        """A member's tier, why (the latest decision with its window sum, window and settings
        version), when it expires (tier_expiry) and the window points now. Errors: member_not_found."""
        cmd = load(tier_contracts.MemberRef(), request)
        with self.db.connection() as conn:
            return MEMBER_TIER.dump(tier_handlers.member_tier(conn, cmd["shop_id"], cmd["member_id"],
                                                              tier_handlers.now()))

    @rpc(expected_exceptions=errors.EXPECTED)
    def tier_history(self, request):
        """A member's tier decisions, newest first, `limit` per page; `before` = the previous
        page's next_before. Errors: member_not_found."""
        cmd = load(tier_contracts.HistoryPage(), request)
        with self.db.connection() as conn:
            return HISTORY.dump(tier_handlers.history(conn, cmd))

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_tier_cycle(self, request=None):
        """Evaluate due cycle ends and tier expiries as of `as_of` (default now), of every shop or
        of `shop_id`. Safe to repeat: a cycle end is evaluated once. Event: members.tier_changed
        per member whose tier changed."""
        cmd = load(tier_contracts.RunCycle(), request or {})
        shop_id = None if cmd["shop_id"] is None else str(cmd["shop_id"])
        return jobs.tier_cycle(self.db, self.outbox, cmd["as_of"] or tier_handlers.now(), shop_id=shop_id)

    @timer(interval=900)
    def tier_cycle_timer(self):
        """Every 15 minutes: the tier cycle as of now (one run at a time across replicas)."""
        self.log.info("tier_cycle_run", **jobs.tier_cycle(self.db, self.outbox, tier_handlers.now()))
