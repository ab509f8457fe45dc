"""The periodic jobs, on a timer and on request (as of any time)."""
from nameko.rpc import rpc
from nameko.timer import timer

from chassis.errors import load
from points import contracts, errors, jobs, ledger


class Jobs:
    @timer(interval=900)
    def expiry_timer(self):
        """Every 15 minutes: expire what is due, then warn about what will be."""
        now = ledger.now()
        self.log.info("expiry_run", **jobs.expire(self.db, self.outbox, now))
        self.log.info("expiry_warnings_run", **jobs.warn(self.db, self.outbox, now))

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_expiry(self, request=None):
        """Expire every lot past its date as of `as_of` (default now). Safe to repeat."""
        as_of = load(contracts.AsOf(), request or {})["as_of"] or ledger.now()
        return jobs.expire(self.db, self.outbox, as_of)

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_expiry_warnings(self, request=None):
        """Warn (points.expiring_soon) about points expiring within each shop's warning days."""
        as_of = load(contracts.AsOf(), request or {})["as_of"] or ledger.now()
        return jobs.warn(self.db, self.outbox, as_of)

    @rpc(expected_exceptions=errors.EXPECTED)
    def reconcile(self, request=None):
        """Accounts whose balance differs from the sum of their entries or lots (expected: none)."""
        return jobs.reconcile(self.db)
