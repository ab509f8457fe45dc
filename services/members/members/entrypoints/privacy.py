"""Personal-data rights (PDPA): a member's data, erasure, shop cancellation, answer
retention, and the retention job (hourly, and as of any time)."""
from nameko.rpc import rpc
from nameko.timer import timer

from chassis.errors import load
from members import errors, privacy
from members import privacy_contracts as contracts


class Privacy:

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_data(self, request):
        """Everything the members service holds on one member (by member_id or phone, an erased
        member by id or pseudonym): the member row, answers, tags, change history, tier, and
        rows of every other table keyed by member_id. Errors: member_not_found."""
        cmd = load(contracts.MEMBER_REF, request)
        with self.db.connection() as conn:
            return privacy.member_data(conn, cmd)

    @rpc(expected_exceptions=errors.EXPECTED)
    def erase_member(self, request):
        """Erase a member: personal fields NULL, status erased, phone replaced by the pseudonym
        erased:<member_id>, answers and tags deleted, change history's values scrubbed. Idempotent
        on `idempotency_key`; erasing an erased member changes nothing (`already_erased`).
        Errors: member_not_found. Event: members.erased (points, rewards, notifier act on it)."""
        cmd = load(contracts.ERASE_MEMBER, request)
        with self.db.transaction() as conn:
            result, replayed = privacy.erase_member(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def cancel_shop(self, request):
        """Cancel a shop (operator): its API keys stop working at once; its data is purged
        90 days after the end of the month of cancellation (shop time). Idempotent on
        `idempotency_key`; cancelling twice changes nothing. Errors: shop_not_found.
        Event: members.shop_cancelled."""
        cmd = load(contracts.CANCEL_SHOP, request)
        with self.db.transaction() as conn:
            result, replayed = privacy.cancel_shop(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_answer_retention(self, request):
        """Keep registration answers `days` shop-local days (1-3650), or for good (null). The
        retention job deletes older ones. Errors: shop_not_found. Event: members.answer_retention_set."""
        cmd = load(contracts.ANSWER_RETENTION, request)
        with self.db.transaction() as conn:
            return privacy.set_answer_retention(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_retention(self, request=None):
        """The retention job as of `as_of` (default now): answers past retention, cancelled shops
        past their keeping time. Safe to repeat. Events: members.answers_deleted, members.shop_purged."""
        as_of = load(contracts.AS_OF, request or {})["as_of"] or privacy.now()
        return privacy.run_retention(self.db, self.outbox, as_of, log=self.log)

    @timer(interval=3600)
    def retention_timer(self):
        """Hourly: the retention job as of now (one run at a time across replicas)."""
        self.log.info("retention_run", **privacy.run_retention(self.db, self.outbox, privacy.now(), log=self.log))
