"""Rewards: catalogue, the member page, redemptions, coupons at the counter, deliveries, reports."""
from werkzeug.wrappers import Response

from gateway import auth, images
from gateway import rewards_contracts as rc
from gateway.auth import ADMIN, INTERNAL, STAFF
from gateway.endpoints import endpoint
from gateway.points_contracts import ImageQuery

MEMBER = "/shops/{shop_id}/members/by-phone/{phone}"
COUPON = "/shops/{shop_id}/coupons/{code}"
CODE = {"code": str}


def _with_images(coupon, shop_id):
    path = f"/shops/{shop_id}/coupons/{coupon['code']}/image"
    return {**coupon, "image_png": f"{path}?format=png", "image_svg": f"{path}?format=svg"}


class RewardRoutes:
    def _saga_timeout(self):
        """A redemption may wait for points twice (the spend, then its cancellation): 3 RPC deadlines."""
        return 3 * float(self.config.get("RPC_TIMEOUT", 5))

    @endpoint("POST", "/shops/{shop_id}/rewards", summary="Create a reward", roles=(ADMIN,),
              request=rc.CreateRewardBody, response=rc.Reward, status=201, tag="rewards")
    def create_reward(self, call, shop_id):
        """Kinds: in_store (used at a branch), delivery (shipped), code (for online use: codes we
        generate, or the shop's own uploaded with code_source pool)."""
        return self.rewards.call("create_reward", {"shop_id": shop_id, **_json_ready(call.body)})

    @endpoint("GET", "/shops/{shop_id}/rewards", summary="The shop's rewards", roles=(ADMIN, STAFF, INTERNAL),
              query=rc.ListQuery, response=rc.RewardList, tag="rewards")
    def list_rewards(self, call, shop_id):
        return self.rewards.call("list_rewards", {"shop_id": shop_id, **call.query})

    @endpoint("GET", "/shops/{shop_id}/rewards/{reward_id}", summary="One reward", roles=(ADMIN, STAFF, INTERNAL),
              response=rc.Reward, tag="rewards")
    def get_reward(self, call, shop_id, reward_id):
        return self.rewards.call("get_reward", {"shop_id": shop_id, "reward_id": reward_id})

    @endpoint("PATCH", "/shops/{shop_id}/rewards/{reward_id}", summary="Edit a reward (issued coupons keep theirs)",
              roles=(ADMIN,), request=rc.RewardTermsBody, response=rc.Reward, tag="rewards")
    def update_reward(self, call, shop_id, reward_id):
        """Also hides or shows it (`visible`). Coupons already issued keep the terms they were issued with."""
        return self.rewards.call("update_reward", {"shop_id": shop_id, "reward_id": reward_id,
                                                   **_json_ready(call.body)})

    @endpoint("POST", "/shops/{shop_id}/rewards/{reward_id}/archive", summary="Archive a reward",
              roles=(ADMIN,), response=rc.Reward, tag="rewards")
    def archive_reward(self, call, shop_id, reward_id):
        """No longer listed or redeemable; coupons already issued stay valid."""
        return self.rewards.call("archive_reward", {"shop_id": shop_id, "reward_id": reward_id})

    @endpoint("POST", "/shops/{shop_id}/rewards/{reward_id}/codes", summary="Upload the shop's own codes",
              roles=(ADMIN,), request=rc.CodesBody, response=rc.CodesAdded, status=201, tag="rewards")
    def upload_codes(self, call, shop_id, reward_id):
        """For a code reward with code_source pool: each new code is one unit of stock, given once."""
        return self.rewards.call("upload_codes", {"shop_id": shop_id, "reward_id": reward_id, **call.body})

    @endpoint("GET", f"{MEMBER}/rewards", summary="What this member can redeem now, and why not",
              roles=(ADMIN, STAFF, INTERNAL), response=rc.MemberPage, path_types={"phone": str}, tag="rewards")
    def member_rewards(self, call, shop_id, phone):
        return self.rewards.call("available", {"shop_id": shop_id, "phone": phone})

    @endpoint("POST", f"{MEMBER}/redemptions", summary="Redeem a reward for a member (staff at the counter)",
              roles=(ADMIN, STAFF), request=rc.RedeemBody, response=rc.Redemption, status=201, idempotent=True,
              path_types={"phone": str}, tag="rewards")
    def redeem(self, call, shop_id, phone):
        """Stock reserved, points spent, coupon issued; or all undone, with the reason (409
        insufficient_points, out_of_stock, limit_reached, tier_not_allowed, ended, ...). 503
        redemption_pending: points did not answer; the redemption is finished or undone
        within minutes (GET the redemption)."""
        body = call.body
        requested = None if body["branch_id"] is None else str(body["branch_id"])
        # A branch's staff redeem at their branch; a manager names one; an admin may name none.
        branch_id = auth.sale_branch(call.principal, requested) if call.principal.role == STAFF else requested
        result = self.rewards.call("redeem", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "phone": phone,
            "reward_id": str(body["reward_id"]), "branch_id": branch_id, "address": body["address"],
            "actor": call.principal.actor}, timeout=self._saga_timeout())
        return result, result["replayed"]

    @endpoint("GET", "/shops/{shop_id}/redemptions/{redemption_id}", summary="A redemption and its coupon",
              roles=(ADMIN, STAFF, INTERNAL), response=rc.Redemption, tag="rewards")
    def get_redemption(self, call, shop_id, redemption_id):
        return self.rewards.call("get_redemption", {"shop_id": shop_id, "redemption_id": redemption_id})

    @endpoint("POST", "/shops/{shop_id}/redemptions/{redemption_id}/delivery",
              summary="Move a delivery reward: preparing, shipped, delivered, or cancelled", roles=(ADMIN, STAFF),
              request=rc.DeliveryBody, response=rc.CouponDetail, tag="rewards")
    def move_delivery(self, call, shop_id, redemption_id):
        """shipped needs carrier and tracking_no; cancelled (before shipping) needs a reason and gives
        the points back."""
        moved = self.rewards.call("move_delivery", {"shop_id": shop_id, "redemption_id": redemption_id,
                                                    "actor": call.principal.actor, **call.body})
        return _with_images(moved, shop_id)

    @endpoint("GET", f"{MEMBER}/coupons", summary="A member's coupons, newest first",
              roles=(ADMIN, STAFF, INTERNAL), response=rc.CouponList, path_types={"phone": str}, tag="rewards")
    def member_coupons(self, call, shop_id, phone):
        return self.rewards.call("member_coupons", {"shop_id": shop_id, "phone": phone})

    @endpoint("GET", COUPON, summary="A coupon by its code (as typed or scanned), with its history",
              roles=(ADMIN, STAFF, INTERNAL), response=rc.CouponDetail, path_types=CODE, tag="rewards")
    def get_coupon(self, call, shop_id, code):
        return _with_images(self.rewards.call("get_coupon", {"shop_id": shop_id, "code": code}), shop_id)

    @endpoint("GET", f"{COUPON}/image", summary="The coupon's QR code (it holds the code) as PNG or SVG",
              roles=(ADMIN, STAFF, INTERNAL), query=ImageQuery, produces="image/png", path_types=CODE,
              tag="rewards")
    def coupon_image(self, call, shop_id, code):
        coupon = self.rewards.call("get_coupon", {"shop_id": shop_id, "code": code})
        return images.qr_response(coupon["code"], call.query["format"])

    @endpoint("POST", f"{COUPON}/use", summary="Mark a coupon used at the counter (once)", roles=(STAFF, ADMIN),
              request=rc.UseBody, response=rc.CouponDetail, path_types=CODE, tag="rewards")
    def use_coupon(self, call, shop_id, code):
        """409 coupon_already_used / coupon_expired / coupon_cancelled / coupon_not_in_store, 403
        coupon_other_shop / coupon_not_usable_here, 404 coupon_not_found, 422 invalid_code /
        code_mistyped (the check character caught a typo)."""
        branch_id = auth.sale_branch(call.principal, None if call.body["branch_id"] is None
                                     else str(call.body["branch_id"]))
        used = self.rewards.call("use_coupon", {"shop_id": shop_id, "code": code, "branch_id": branch_id,
                                                "actor": call.principal.actor})
        return _with_images(used, shop_id)

    @endpoint("POST", f"{COUPON}/undo-use", summary="Undo a use made by mistake (within 15 minutes)",
              roles=(STAFF, ADMIN), request=rc.UndoBody, response=rc.CouponDetail, path_types=CODE, tag="rewards")
    def undo_coupon_use(self, call, shop_id, code):
        branch_id = call.principal.branch_id if call.principal.role == STAFF else None
        restored = self.rewards.call("undo_coupon_use", {"shop_id": shop_id, "code": code, "branch_id": branch_id,
                                                         "reason": call.body["reason"],
                                                         "actor": call.principal.actor})
        return _with_images(restored, shop_id)

    @endpoint("POST", "/shops/{shop_id}/coupons", summary="Issue coupons without points (campaigns, stamp cards)",
              roles=(INTERNAL, ADMIN), request=rc.IssueBody, response=rc.Issued, status=201, idempotent=True,
              tag="rewards")
    def issue_coupons(self, call, shop_id):
        """One coupon per phone, all or nothing (stock included)."""
        body = call.body
        result = self.rewards.call("issue_coupons", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "reward_id": str(body["reward_id"]), "phones": body["phones"], "source": body["source"],
            "source_ref": body["source_ref"], "actor": call.principal.actor}, timeout=120)
        return result, result["replayed"]

    @endpoint("GET", "/shops/{shop_id}/reports/rewards",
              summary="Per reward and branch: redeemed, used, expired, points spent (JSON or CSV)",
              roles=(ADMIN,), query=rc.ReportQuery, response=rc.Report, tag="rewards")
    def rewards_report(self, call, shop_id):
        q = call.query
        request = {"shop_id": shop_id, "date_from": q["date_from"] and q["date_from"].isoformat(),
                   "date_to": q["date_to"] and q["date_to"].isoformat()}
        if q["format"] == "csv":
            exported = self.rewards.call("report_csv", request)
            return Response(exported["body"], status=200, mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{exported["filename"]}"'})
        return self.rewards.call("report", request)


def _json_ready(body):
    """Loaded values (UUIDs, datetimes) back to JSON for the RPC."""
    ready = {}
    for key, value in body.items():
        if isinstance(value, list):
            ready[key] = [str(v) for v in value]
        elif hasattr(value, "isoformat"):
            ready[key] = value.isoformat()
        else:
            ready[key] = value
    return ready
