"""Stamp cards (issue #6): card designs and lifecycle, stamp QR codes, scans, voids, members'
cards and history, statistics, the expiry job; and the rewards service's coupon events for
tickets (issued, used, use undone), which answer "tickets used" locally."""
from nameko.rpc import rpc
from nameko.timer import timer

from chassis import inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.rpc import RpcClient
from points import directory, errors, ledger, stamps, store
from points import stamp_contracts as sc
from points.store.stamp_ledger import KeyTaken

CLAIM = sc.ClaimStamps()  # the hot path: a schema built once, not per call


class Stamps:
    rewards = RpcClient("rewards")

    def _stamps_run(self, use_case):
        """use_case(conn) in a transaction (filling the shop/branch copy on a miss); when a concurrent
        request with the same key won, once more: it then answers the first result."""
        try:
            return directory.run(self.db, self.members, use_case)
        except KeyTaken:
            with self.db.transaction() as conn:
                return use_case(conn)

    # --- card designs and lifecycle ---------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_stamp_card(self, request):
        """A draft stamp card: name, stamps to fill, stamps per purchase (per visit or per X baht),
        tickets (a reward of the catalogue at given stamp counts; the last at the full card, each
        checked with the rewards service), validity, welcome stamps, terms. Idempotent on
        `idempotency_key`. Errors: invalid_card_design, ticket_reward_invalid, card_waiting_time.
        Event: stampcards.created."""
        cmd = load(sc.CreateCard(), request)
        stamps.check_rewards(self.rewards, cmd["shop_id"], cmd["tickets"])
        card, replayed = self._stamps_run(lambda conn: stamps.create_card(conn, cmd, self.outbox, ledger.now()))
        return {**card, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_stamp_card(self, request):
        """Change a draft card's design, or an active card's validity only. Errors: card_field_locked,
        card_suspended, card_deleted, card_not_found. Event: stampcards.updated."""
        cmd = load(sc.UpdateCard(), request)
        if "tickets" in cmd:
            stamps.check_rewards(self.rewards, cmd["shop_id"], cmd["tickets"])
        card, changed = self._stamps_run(lambda conn: stamps.update_card(conn, cmd, self.outbox, ledger.now()))
        return {**card, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def activate_stamp_card(self, request):
        """draft -> active (its tickets' rewards checked again). Errors: active_card_exists, card_suspended,
        card_deleted, card_waiting_time, card_expired, ticket_reward_invalid. Event: stampcards.activated."""
        cmd = load(sc.CardRef(), request)
        with self.db.connection() as conn:
            draft = store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"])
        if draft["status"] == "draft":  # its tickets' rewards may have been archived since it was designed
            stamps.check_rewards(self.rewards, cmd["shop_id"], draft["tickets"])
        card, changed = self._stamps_run(lambda conn: stamps.activate_card(conn, cmd, self.outbox, ledger.now()))
        return {**card, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def suspend_stamp_card(self, request):
        """active -> suspended, only with `confirm: true`; cannot be undone; every member's stamps of the
        card are reset; a new card can be created 24 h later. Errors: suspension_not_confirmed,
        card_not_active. Events: stampcards.suspended, stamps.reset per member."""
        cmd = load(sc.SuspendCard(), request)
        card, changed = self._stamps_run(lambda conn: stamps.suspend_card(conn, cmd, self.outbox, ledger.now()))
        reset = stamps.finish_resets(self.db, self.outbox, ledger.now())
        return {**card, "changed": changed, "reset": reset}

    @rpc(expected_exceptions=errors.EXPECTED)
    def delete_stamp_card(self, request):
        """Delete a draft card. Error: card_not_deletable. Event: stampcards.deleted."""
        cmd = load(sc.CardRef(), request)
        card, changed = self._stamps_run(lambda conn: stamps.delete_card(conn, cmd, self.outbox, ledger.now()))
        return {**card, "changed": changed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_stamp_card(self, request):
        cmd = load(sc.CardRef(), request)
        with self.db.connection() as conn:
            return sc.CARD.dump(store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_stamp_cards(self, request):
        """The shop's cards, newest first (deleted drafts only with include_deleted)."""
        cmd = load(sc.ListCards(), request)
        with self.db.connection() as conn:
            return {"cards": sc.CARD.dump(store.stamp_cards.cards(conn, cmd["shop_id"], cmd["include_deleted"]),
                                          many=True)}

    # --- QR codes, scans, voids -------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_stamp_qr(self, request):
        """Staff's one-time stamp QR for a purchase (amount needed for a per-amount card): a signed
        token valid for the shop's QR minutes, claimable once. Idempotent on `idempotency_key`.
        Errors: no_active_card, card_expired, no_stamps_for_purchase. Event: stamps.qr_created."""
        cmd = load(sc.CreateStampQr(), request)
        qr, replayed = self._stamps_run(lambda conn: stamps.create_qr(
            conn, cmd, self.outbox, self.qr_secret, ledger.now()))
        return {**qr, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_stamp_qr(self, request):
        """A one-time stamp QR (its token, to show again), or qr_not_found."""
        cmd = load(sc.QrRef(), request)
        with self.db.connection() as conn:
            return stamps.read_qr(conn, cmd["shop_id"], cmd["qr_id"], self.qr_secret)

    @rpc(expected_exceptions=errors.EXPECTED)
    def claim_stamps(self, request):
        """A member's scan of a stamp QR: a one-time code gives its stamps once (50 racing scans: one
        grant; the same member again: the first answer), a printed code its stamps within the daily
        limit (idempotent on `idempotency_key`). The card is issued on the first stamp. Errors:
        qr_invalid, qr_expired, qr_already_used, printed_qr_disabled, daily_limit_reached,
        no_active_card, card_expired. Events: stamps.granted, stamps.ticket_earned,
        stamps.card_completed."""
        cmd = load(CLAIM, request)
        result, replayed = self._stamps_run(lambda conn: stamps.claim(
            conn, cmd, self.outbox, self.qr_secret, ledger.now()))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_printed_stamp_qr(self, request):
        """Enable or disable a branch's printed stamp QR (stamps per scan, daily limit per member);
        `regenerate` voids earlier prints. Event: stamps.printed_qr_changed."""
        cmd = load(sc.SetPrintedStampQr(), request)
        return directory.run(self.db, self.members, lambda conn: stamps.set_printed(
            conn, cmd, self.outbox, self.qr_secret))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_printed_stamp_qr(self, request):
        """A branch's printed stamp QR (its token, to print), or branch_not_found if never set."""
        cmd = load(sc.BranchRef(), request)
        with self.db.connection() as conn:
            printed = store.stamp_cards.printed(conn, cmd["shop_id"], cmd["branch_id"])
        if printed is None:
            raise errors.branch_not_found(cmd["branch_id"])
        return stamps.printed_result(printed, self.qr_secret)

    @rpc(expected_exceptions=errors.EXPECTED)
    def void_stamps(self, request):
        """Void a grant's stamps with a reason, once (already_voided); idempotent on the key.
        Errors: entry_not_found, not_voidable, wrong_branch. Event: stamps.voided."""
        cmd = load(sc.VoidStamps(), request)
        with self.db.transaction() as conn:
            result, replayed = stamps.void(conn, cmd, self.outbox, ledger.now())
        return {**result, "replayed": replayed}

    # --- reads ------------------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_stamps(self, request):
        """A member's stamp cards, stamp history (newest first, pages by `before`) and tickets."""
        cmd = load(sc.MemberStamps(), request)
        with self.db.connection() as conn:
            return stamps.member_stamps(conn, cmd)

    @rpc(expected_exceptions=errors.EXPECTED)
    def stamp_stats(self, request):
        """Cards issued, stamps given and voided, tickets issued and used, per shop day and branch,
        up to the previous day (or, with `live`, up to now)."""
        cmd = load(sc.StampStats(), request)
        return directory.run(self.db, self.members, lambda conn: stamps.stats(conn, cmd, ledger.now()))

    # --- jobs -------------------------------------------------------------------------

    @timer(interval=900)
    def stamps_timer(self):
        """Every 15 minutes: close members' cards past their validity; finish suspensions' resets."""
        now = ledger.now()
        self.log.info("stamps_expiry_run", **stamps.expire_members(self.db, self.outbox, now, now))
        self.log.info("stamps_reset_run", **stamps.finish_resets(self.db, self.outbox, now))

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_stamp_expiry(self, request=None):
        """Close every member's card whose validity ended before `as_of` (default now). Safe to repeat."""
        now = ledger.now()
        as_of = load(sc.AsOf(), request or {})["as_of"] or now
        return {"expired": stamps.expire_members(self.db, self.outbox, as_of, now),
                "reset": stamps.finish_resets(self.db, self.outbox, now)}

    # --- the rewards service's coupons for tickets ---------------------------------------

    @event_handler("rewards", "coupons_issued.v1")
    def on_stamp_coupons_issued(self, body):
        """rewards.coupons_issued: a ticket's coupon (source stamp_card) is recorded on the ticket."""
        event = inbox.load_event(sc.CouponsIssuedData(), body)
        with self.db.transaction() as conn:
            if inbox.first_time(conn, "stamps.coupons_issued", event):
                stamps.ticket_coupons_issued(conn, event)

    @event_handler("rewards", "coupon_used.v1")
    def on_stamp_coupon_used(self, body):
        """rewards.coupon_used: a ticket's coupon was used (statistics: tickets used)."""
        event = inbox.load_event(sc.CouponChangeData(), body)
        with self.db.transaction() as conn:
            if inbox.first_time(conn, "stamps.coupon_used", event):
                stamps.ticket_used(conn, event, used=True)

    @event_handler("rewards", "coupon_use_undone.v1")
    def on_stamp_coupon_use_undone(self, body):
        """rewards.coupon_use_undone: the ticket's coupon counts as unused again."""
        event = inbox.load_event(sc.CouponChangeData(), body)
        with self.db.transaction() as conn:
            if inbox.first_time(conn, "stamps.coupon_use_undone", event):
                stamps.ticket_used(conn, event, used=False)
