"""Spending, giving back, adjusting and voiding points."""
from nameko.rpc import rpc

from chassis.errors import load
from points import contracts, directory, errors, spending, voiding


class Ledger:
    @rpc(expected_exceptions=errors.EXPECTED)
    def spend(self, request):
        """Spend points (for a reward). Idempotent on `idempotency_key` (the redemption id):
        a replay answers the first spend. All or nothing: insufficient_points when the
        balance is short; account_not_found. Event: points.redeemed."""
        cmd = load(contracts.Spend(), request)
        with self.db.transaction() as conn:
            result, replayed = spending.spend(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def refund_spend(self, request):
        """Give a spend's points back to their lots (a cancelled redemption). Once per spend;
        a repeat answers the first refund. Errors: spend_not_found. Event: points.voided."""
        cmd = load(contracts.RefundSpend(), request)
        with self.db.transaction() as conn:
            result, replayed = spending.refund_spend(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def credit(self, request):
        """Give points outside a sale (welcome, an import, a campaign) or adjust a balance by
        hand (+ or -, with a reason). Idempotent on `idempotency_key`. A negative
        adjustment larger than the balance is insufficient_points. Events: points.adjusted,
        points.earned (welcome)."""
        cmd = load(contracts.Credit(), request)
        result, replayed = directory.run(self.db, self.members, lambda conn: spending.credit(conn, cmd, self.outbox))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def void(self, request):
        """Void a sale (sale_id) or a credit entry (entry_id): its points are taken back, as far
        as the balance allows; the rest is reported as unrecovered. Once per credit.
        Idempotent on `idempotency_key`. Errors: sale_not_found, entry_not_found,
        nothing_to_void, not_voidable, already_voided. Event: points.voided."""
        cmd = load(contracts.Void(), request)
        with self.db.transaction() as conn:
            result, replayed = voiding.void(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}
