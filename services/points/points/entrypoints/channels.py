"""Orders from other systems, one-time QR codes and printed QR codes."""
from nameko.rpc import rpc

from chassis.errors import load
from points import channels, contracts, directory, errors, ledger


class Channels:
    @rpc(expected_exceptions=errors.EXPECTED)
    def record_order(self, request):
        """Points for an order from another system; the order id earns once (a repeat with the
        same details answers the first; other details: order_already_recorded).
        Event: points.earned (source order)."""
        cmd = load(contracts.RecordOrder(), request)
        result, replayed = directory.run(
            self.db, self.members, lambda conn: channels.record_order(conn, cmd, self.outbox))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def refund_order(self, request):
        """A refund of (part of) an order takes back its points in proportion; idempotent on
        the refund id. Errors: order_not_found, refund_exceeds_order. Event: points.voided."""
        cmd = load(contracts.RefundOrder(), request)
        with self.db.transaction() as conn:
            result, replayed = channels.refund_order(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_qr(self, request):
        """A one-time QR for a sale (staff's phone): a signed token valid for the shop's QR
        minutes. Idempotent on `idempotency_key`. Event: points.qr_created."""
        cmd = load(contracts.CreateQr(), request)
        result, replayed = directory.run(self.db, self.members, lambda conn: channels.create_qr(
            conn, cmd, self.outbox, self.qr_secret, ledger.now()))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_qr(self, request):
        """A one-time QR (its token, to show again), or qr_not_found."""
        cmd = load(contracts.QrRef(), request)
        with self.db.connection() as conn:
            return channels.read_qr(conn, cmd["shop_id"], cmd["qr_id"], self.qr_secret)

    @rpc(expected_exceptions=errors.EXPECTED)
    def claim_qr(self, request):
        """A member's scan of a one-time QR: its sale's points, once (50 racing scans: one earn).
        Errors: qr_invalid, qr_expired, qr_already_used. Event: points.earned (source qr)."""
        cmd = load(contracts.ClaimQr(), request)
        with self.db.transaction() as conn:
            result, replayed = channels.claim_qr(conn, cmd, self.outbox, self.qr_secret, ledger.now())
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_printed_qr(self, request):
        """Enable or disable a branch's printed QR, its points and daily limit per member;
        `regenerate` voids earlier prints. Event: points.printed_qr_changed."""
        cmd = load(contracts.SetPrintedQr(), request)
        return directory.run(self.db, self.members, lambda conn: channels.set_printed_qr(
            conn, cmd, self.outbox, self.qr_secret))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_printed_qr(self, request):
        """A branch's printed QR (token to print), or branch_not_found if never set."""
        cmd = load(contracts.BranchRef(), request)
        with self.db.connection() as conn:
            return channels.read_printed_qr(conn, cmd["shop_id"], cmd["branch_id"], self.qr_secret)

    @rpc(expected_exceptions=errors.EXPECTED)
    def claim_printed_qr(self, request):
        """A member's scan of a printed QR: its fixed points, within the daily limit.
        Idempotent on `idempotency_key`. Errors: qr_invalid, printed_qr_disabled,
        daily_limit_reached. Event: points.earned (source printed_qr)."""
        cmd = load(contracts.ClaimPrintedQr(), request)
        with self.db.transaction() as conn:
            result, replayed = channels.claim_printed_qr(conn, cmd, self.outbox, self.qr_secret, ledger.now())
        return {**result, "replayed": replayed}
