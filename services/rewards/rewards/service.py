"""The rewards service: catalogue, redemptions (a saga with the points service), coupons,
deliveries, reports and their periodic jobs. RPC contracts: contracts.py; events:
event_contracts.py and docs/events.md."""
import datetime

import eventlet
from nameko.rpc import rpc
from nameko.timer import timer

from chassis import errors as chassis_errors
from chassis import idempotency, inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.rpc import RpcClient
from chassis.service import ServiceBase
from rewards import (
    catalogue,
    contracts,
    coupons,
    errors,
    event_contracts,
    redemption,
    reports,
    shops,
    store,
)
from rewards.privacy import Privacy
from rewards.stamp_tickets import StampTickets

REWARD = event_contracts.REWARD


def _now():
    return datetime.datetime.now(datetime.UTC)


def _pause():
    eventlet.sleep(0)


class RewardsService(Privacy, StampTickets, ServiceBase):
    name = "rewards"
    members = RpcClient("members")
    points = RpcClient("points")

    # --- catalogue ---------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_reward(self, request):
        """A new reward (in_store, delivery or code; a code reward's codes are generated, or
        uploaded by the shop with code_source pool). Event: rewards.reward_created."""
        cmd = load(contracts.CREATE_REWARD, request)
        shops.ensure(self.db, self.members, cmd["shop_id"])
        for branch_id in cmd.get("branch_ids", []):
            self.members.call("get_branch", {"shop_id": str(cmd["shop_id"]), "branch_id": str(branch_id)})
        with self.db.transaction() as conn:
            return REWARD.dump(catalogue.create(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_reward(self, request):
        """Edit a reward's terms (coupons already issued keep theirs), including `visible`
        (hide/show) and `stock`. Event: rewards.reward_updated."""
        cmd = load(contracts.UPDATE_REWARD, request)
        for branch_id in cmd.get("branch_ids", []):
            self.members.call("get_branch", {"shop_id": str(cmd["shop_id"]), "branch_id": str(branch_id)})
        with self.db.transaction() as conn:
            return REWARD.dump(catalogue.update(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def archive_reward(self, request):
        """Archive a reward: no longer listed or redeemable; its issued coupons stay valid."""
        cmd = load(contracts.REWARD_REF, request)
        with self.db.transaction() as conn:
            return REWARD.dump(catalogue.update(conn, cmd, self.outbox, status="archived"))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_reward(self, request):
        cmd = load(contracts.REWARD_REF, request)
        with self.db.connection() as conn:
            return REWARD.dump(catalogue.get(conn, cmd["shop_id"], cmd["reward_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_rewards(self, request):
        cmd = load(contracts.LIST_REWARDS, request)
        with self.db.connection() as conn:
            return {"rewards": REWARD.dump(store.rewards(conn, cmd["shop_id"], cmd["include_archived"]), many=True)}

    @rpc(expected_exceptions=errors.EXPECTED)
    def upload_codes(self, request):
        """Add the shop's own codes to a pool reward (each becomes one unit of stock; duplicates
        are skipped and counted)."""
        cmd = load(contracts.UPLOAD_CODES, request)
        with self.db.transaction() as conn:
            return catalogue.add_codes(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def available(self, request):
        """The member page: every visible reward, whether this member can redeem it now, and
        if not, why (archived, not_started, ended, out_of_stock, limit_reached,
        tier_not_allowed, insufficient_points)."""
        cmd = load(contracts.AVAILABLE, request)
        balance = self._balance(cmd["shop_id"], cmd["phone"])
        tier = self._tier(cmd["shop_id"], cmd["phone"])
        with self.db.connection() as conn:
            listed = catalogue.available(conn, cmd["shop_id"], cmd["phone"], _now(), balance, tier)
        return {"phone": cmd["phone"], "balance": balance, "tier": tier,
                "rewards": [{**REWARD.dump(item["reward"]), "redeemable": item["redeemable"],
                             "reasons": item["reasons"]} for item in listed]}

    def _balance(self, shop_id, phone):
        try:
            return self.points.call("balance", {"shop_id": str(shop_id), "phone": phone})["balance"]
        except chassis_errors.NotFound:
            return 0

    def _tier(self, shop_id, phone):
        try:
            member = self.members.call("get_member_by_phone", {"shop_id": str(shop_id), "phone": phone})
        except chassis_errors.NotFound:
            return None
        return member.get("tier")

    # --- redemptions -------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def redeem(self, request):
        """Redeem a reward for a member: stock reserved, points spent (points service), coupon
        issued; or, when a step fails, everything undone and the reason given (the same
        answer for replays). Idempotent on `idempotency_key`. A redemption the points service
        did not settle is `redemption_pending` (503): the recovery sweep finishes or undoes it.
        Events: rewards.redeemed + rewards.coupon_issued, or rewards.redemption_failed."""
        cmd = load(contracts.REDEEM, request)
        with self.db.connection() as conn:
            reward = store.reward(conn, cmd["shop_id"], cmd["reward_id"])  # read once: the reservation checks it
        if reward is None:  # (a reward's shop is known) an unknown shop is members' shop_not_found
            shops.ensure(self.db, self.members, cmd["shop_id"])
            raise errors.reward_not_found(cmd["reward_id"])
        tier = None
        if reward["tiers"]:
            tier = self._tier(cmd["shop_id"], cmd["phone"])
        row, replayed = redemption.start(self.db, cmd, reward, tier=tier)
        row = redemption.drive(self.db, self.points, self.outbox, row, self.log)
        self.metrics.counter("rewards_redemptions_total", "redemptions by final state of the call",
                             ["state"]).labels(self.name, row["state"]).inc()
        if row["state"] == "failed":
            raise errors.redemption_failed(row["failure_code"], row["failure_message"])
        if row["state"] != "completed":
            raise errors.redemption_pending()
        if "coupon" in row:
            return redemption.result(None, row, replayed)
        with self.db.connection() as conn:
            return redemption.result(conn, row, replayed)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_redemption(self, request):
        cmd = load(contracts.REDEMPTION_REF, request)
        with self.db.connection() as conn:
            row = store.redemption(conn, cmd["redemption_id"])
            if row is None or row["shop_id"] != cmd["shop_id"]:
                raise errors.redemption_not_found(cmd["redemption_id"])
            return redemption.result(conn, row)

    @rpc(expected_exceptions=errors.EXPECTED)
    def move_delivery(self, request):
        """A delivery reward's next step: preparing, shipped (carrier, tracking_no), delivered,
        or cancelled (before shipping; the points are given back, the stock comes back).
        Event: rewards.delivery_status_changed."""
        cmd = load(contracts.MOVE_DELIVERY, request)
        with self.db.transaction() as conn:
            moved, row = coupons.move_delivery(conn, cmd, self.outbox)
        refunded = None
        if cmd["status"] == "cancelled":
            refunded = redemption.refund_cancelled_delivery(self.db, self.points, row, self.log)
        with self.db.connection() as conn:
            return {**redemption.coupon_view(moved), "history": self._history(conn, moved["coupon_id"]),
                    "points_refunded": refunded}

    # --- coupons -----------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def issue_coupons(self, request):
        """The one way coupons are born outside a redemption: one coupon of `reward_id` per phone
        (up to 1,000,000, E.164), without points, for a campaign, a stamp card, a welcome.
        All or nothing (stock included). Idempotent on `idempotency_key`.
        Event: rewards.coupon_issued per coupon."""
        cmd = load(contracts.ISSUE_COUPONS, request)
        shops.ensure(self.db, self.members, cmd["shop_id"])
        fingerprint = idempotency.request_fingerprint(cmd)
        with self.db.transaction() as conn:
            result, replayed = idempotency.run_once(
                conn, f"issue:{cmd['shop_id']}", cmd["idempotency_key"], fingerprint,
                lambda: coupons.issue_batch(self.db, conn, cmd, self.outbox, pause=_pause))
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_coupon(self, request):
        """A coupon by its code (as typed: any case, with or without the dash), with its history."""
        cmd = load(contracts.COUPON_REF, request)
        with self.db.connection() as conn:
            coupon = coupons.find(conn, cmd["shop_id"], cmd["code"])
            return {**redemption.coupon_view(coupon), "history": self._history(conn, coupon["coupon_id"])}

    @rpc(expected_exceptions=errors.EXPECTED)
    def use_coupon(self, request):
        """Staff mark an in-store (or code) coupon used at their branch, once. Refusals:
        coupon_not_found, invalid_code, code_mistyped, coupon_other_shop, coupon_already_used,
        coupon_expired, coupon_cancelled, coupon_not_usable_here, coupon_not_in_store.
        Event: rewards.coupon_used."""
        cmd = load(contracts.USE_COUPON, request)
        with self.db.transaction() as conn:
            return redemption.coupon_view(coupons.use(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def undo_coupon_use(self, request):
        """Undo a use made by mistake, within 15 minutes, with a reason.
        Event: rewards.coupon_use_undone."""
        cmd = load(contracts.UNDO_USE, request)
        with self.db.transaction() as conn:
            return redemption.coupon_view(coupons.undo_use(conn, cmd, self.outbox))

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_coupons(self, request):
        """A member's coupons, newest first (with delivery status for delivery rewards)."""
        cmd = load(contracts.MEMBER_COUPONS, request)
        with self.db.connection() as conn:
            rows = store.member_coupons(conn, cmd["shop_id"], cmd["phone"], cmd["limit"])
        return {"phone": cmd["phone"], "coupons": [redemption.coupon_view(row) for row in rows]}

    def _history(self, conn, coupon_id):
        return [{**row, "branch_id": str(row["branch_id"]) if row["branch_id"] else None,
                 "at": row["at"].isoformat()} for row in store.coupon_history(conn, coupon_id)]

    # --- reports -----------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def report(self, request):
        """Per reward and branch: redeemed, used, expired, points spent (shop-local days)."""
        cmd = load(contracts.REPORT, request)
        shop = shops.ensure(self.db, self.members, cmd["shop_id"])
        with self.db.connection() as conn:
            return {"rows": reports.rewards_report(conn, shop, cmd["date_from"], cmd["date_to"])}

    @rpc(expected_exceptions=errors.EXPECTED)
    def report_csv(self, request):
        """The same report as CSV text."""
        rows = self.report(request)["rows"]
        return {"filename": "rewards-report.csv", "content_type": "text/csv; charset=utf-8",
                "body": reports.to_csv(rows)}

    # --- jobs --------------------------------------------------------------------

    @timer(interval=60)
    def recovery_timer(self):
        """Every minute: finish or undo redemptions left unsettled for over a minute."""
        totals = redemption.recover(self.db, self.points, self.outbox, _now(), log=self.log)
        if any(totals.values()):
            self.log.info("recovery_run", **totals)

    @timer(interval=900)
    def coupon_timer(self):
        """Every 15 minutes: expire coupons past their date, warn about those close to it."""
        now = _now()
        self.log.info("coupon_expiry_run", **coupons.expire(self.db, self.outbox, now))
        self.log.info("coupon_warning_run", **coupons.warn(self.db, self.outbox, now))

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_recovery(self, request=None):
        """The recovery sweep as of `as_of` (default now), for redemptions older than
        `grace_seconds` (default 60). Safe to repeat."""
        cmd = load(contracts.AS_OF, request or {})
        grace = 60 if cmd["grace_seconds"] is None else cmd["grace_seconds"]
        return redemption.recover(self.db, self.points, self.outbox, cmd["as_of"] or _now(), grace, log=self.log)

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_coupon_expiry(self, request=None):
        cmd = load(contracts.AS_OF, request or {})
        return coupons.expire(self.db, self.outbox, cmd["as_of"] or _now())

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_coupon_warnings(self, request=None):
        cmd = load(contracts.AS_OF, request or {})
        return coupons.warn(self.db, self.outbox, cmd["as_of"] or _now())

    # --- events consumed ---------------------------------------------------------

    @event_handler("members", "shop_created.v1")
    def on_shop_created(self, body):
        """members.shop_created: keep the shop in the local copy (an upsert: idempotent)."""
        event = inbox.load_event(event_contracts.SHOP_CREATED_DATA, body)
        with self.db.transaction() as conn:
            shops.upsert(conn, event["data"]["shop_id"], event["data"]["timezone"])
