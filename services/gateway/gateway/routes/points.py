"""Points: sales, voids, adjustments, history, statistics, settings, orders, QR codes."""
from chassis.fields import baht
from gateway import auth, contracts, images
from gateway import points_contracts as pc
from gateway.auth import ADMIN, INTERNAL, STAFF
from gateway.endpoints import endpoint
from gateway.routes.shops import rule_payload

ACCOUNT = "/shops/{shop_id}/members/by-phone/{phone}/points"


class PointsRoutes:
    @endpoint("POST", "/shops/{shop_id}/sales", summary="Record a sale for a phone number and credit its points",
              roles=(STAFF, ADMIN, INTERNAL), request=contracts.SaleBody, response=contracts.Sale,
              status=201, idempotent=True, tag="points")
    def record_sale(self, call, shop_id):
        """The phone may be written any Thai way (081-234-5678, 0812345678, +66812345678). A phone
        that is not yet a member becomes a phone-only member. The same receipt_no at the same
        branch earns once (409 duplicate_receipt)."""
        body = call.body
        branch_id = auth.sale_branch(call.principal, None if body["branch_id"] is None else str(body["branch_id"]))
        sale = self.points.call("earn", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "branch_id": branch_id, "phone": body["phone"], "amount": baht(body["amount"]),
            "receipt_no": body["receipt_no"], "actor": call.principal.actor})
        return sale, sale["replayed"]

    @endpoint("POST", "/shops/{shop_id}/sales/{sale_id}/void", summary="Void a sale: take its points back",
              roles=(STAFF, ADMIN), request=pc.VoidBody, response=pc.VoidResult, status=201, idempotent=True,
              tag="points")
    def void_sale(self, call, shop_id, sale_id):
        """Once per sale. Points the member already spent cannot be taken back (the balance never
        goes negative): they are reported as `unrecovered`. A branch's staff void only sales of
        their branch (403 wrong_branch)."""
        principal = call.principal
        at_branch = principal.branch_id if principal.role == STAFF else None
        result = self.points.call("void", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "sale_id": sale_id,
            "reason": call.body["reason"], "actor": principal.actor, "at_branch": at_branch})
        return result, result["replayed"]

    @endpoint("POST", "/shops/{shop_id}/entries/{entry_id}/void", summary="Void a credit entry (admin)",
              roles=(ADMIN,), request=pc.VoidBody, response=pc.VoidResult, status=201, idempotent=True,
              path_types={"entry_id": int}, tag="points")
    def void_entry(self, call, shop_id, entry_id):
        """An earn, welcome or positive adjustment; never a void, a spend or an expiry (409 not_voidable)."""
        result = self.points.call("void", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "entry_id": entry_id,
            "reason": call.body["reason"], "actor": call.principal.actor})
        return result, result["replayed"]

    @endpoint("POST", f"{ACCOUNT}/adjustments", summary="Adjust a member's points by hand, with a reason",
              roles=(ADMIN,), request=pc.AdjustmentBody, response=pc.Adjustment, status=201, idempotent=True,
              tag="points")
    def adjust(self, call, shop_id, phone):
        body = call.body
        result = self.points.call("credit", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "phone": phone,
            "points": body["points"], "kind": "adjust", "source": "admin", "reason": body["reason"],
            "branch_id": None if body["branch_id"] is None else str(body["branch_id"]),
            "actor": call.principal.actor})
        return result, result["replayed"]

    @endpoint("GET", f"{ACCOUNT}/history", summary="A member's points history, newest first, in pages",
              roles=(STAFF, ADMIN, INTERNAL), query=pc.HistoryQuery, response=pc.HistoryPage, tag="points")
    def history(self, call, shop_id, phone):
        q = call.query
        return self.points.call("history", {
            "shop_id": shop_id, "phone": phone, "kinds": q["kind"], "limit": q["limit"], "before": q["before"],
            "branch_id": None if q["branch_id"] is None else str(q["branch_id"]),
            "since": q["since"] and q["since"].isoformat(), "until": q["until"] and q["until"].isoformat()})

    @endpoint("GET", f"{ACCOUNT}/lots", summary="A member's points by lot, in the order they are spent",
              roles=(STAFF, ADMIN, INTERNAL), response=pc.LotsView, tag="points")
    def lots(self, call, shop_id, phone):
        return self.points.call("lots", {"shop_id": shop_id, "phone": phone})

    @endpoint("GET", f"{ACCOUNT}/expiring", summary="A member's points that expire soon, by day",
              roles=(STAFF, ADMIN, INTERNAL), query=pc.ExpiringQuery, response=pc.ExpiringView, tag="points")
    def expiring(self, call, shop_id, phone):
        return self.points.call("expiring", {"shop_id": shop_id, "phone": phone, "days": call.query["days"]})

    @endpoint("GET", "/shops/{shop_id}/points/stats", summary="Points issued, redeemed, expired, voided, by day",
              roles=(ADMIN,), query=pc.StatsQuery, response=pc.StatsView, tag="points")
    def stats(self, call, shop_id):
        q = call.query
        return self.points.call("stats", {
            "shop_id": shop_id, "since": q["since"].isoformat(), "until": q["until"].isoformat(),
            "branch_id": None if q["branch_id"] is None else str(q["branch_id"])})

    @endpoint("GET", "/shops/{shop_id}/points/settings", summary="Points settings: expiry, warnings, welcome, QR",
              roles=(ADMIN,), response=pc.Settings, tag="points")
    def get_settings(self, call, shop_id):
        return self.points.call("get_settings", {"shop_id": shop_id})

    @endpoint("PUT", "/shops/{shop_id}/points/settings", summary="Change points settings",
              roles=(ADMIN,), request=pc.SettingsBody, response=pc.Settings, tag="points")
    def save_settings(self, call, shop_id):
        """A new expiry applies to points credited from now on."""
        return self.points.call("save_settings", {"shop_id": shop_id, **call.body})

    @endpoint("PUT", "/shops/{shop_id}/branches/{branch_id}/earn-rule", summary="Give a branch its own earn rule",
              roles=(ADMIN,), request=contracts.EarnRuleBody, response=contracts.EarnRule, tag="points")
    def set_branch_rule(self, call, shop_id, branch_id):
        return self.points.call("set_earn_rule", rule_payload(shop_id, call.body, branch_id))

    @endpoint("DELETE", "/shops/{shop_id}/branches/{branch_id}/earn-rule",
              summary="The branch earns by the shop's rule again", roles=(ADMIN,), tag="points")
    def remove_branch_rule(self, call, shop_id, branch_id):
        return self.points.call("remove_branch_rule", {"shop_id": shop_id, "branch_id": branch_id})

    @endpoint("POST", "/shops/{shop_id}/orders", summary="Points for an order from another system",
              roles=(INTERNAL,), request=pc.OrderBody, response=pc.Order, status=201, idempotent=True, tag="points")
    def record_order(self, call, shop_id):
        """The same order_id never earns twice: posting it again answers the first result
        (Idempotent-Replayed: true); with other details it is 409 order_already_recorded."""
        body = call.body
        result = self.points.call("record_order", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "order_id": body["order_id"], "phone": body["phone"], "amount": baht(body["amount"]),
            "branch_id": None if body["branch_id"] is None else str(body["branch_id"]),
            "actor": call.principal.actor})
        return result, result["replayed"]

    @endpoint("POST", "/shops/{shop_id}/orders/{order_id}/refunds",
              summary="A refund of (part of) an order: its points are taken back in proportion",
              roles=(INTERNAL,), request=pc.RefundBody, response=pc.Refund, status=201, idempotent=True,
              path_types={"order_id": str}, tag="points")
    def refund_order(self, call, shop_id, order_id):
        result = self.points.call("refund_order", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "order_id": order_id,
            "refund_id": call.body["refund_id"], "amount": baht(call.body["amount"]),
            "actor": call.principal.actor})
        return result, result["replayed"]

    def _with_images(self, result, path):
        base = self.config.get("MEMBER_SCAN_URL", "http://127.0.0.1:8000/scan")
        return {**result, "scan_url": images.scan_url(base, result["token"]),
                "image_png": f"{path}/image?format=png", "image_svg": f"{path}/image?format=svg"}

    @endpoint("POST", "/shops/{shop_id}/qr", summary="A one-time QR code for a sale, for the member to scan",
              roles=(STAFF, ADMIN), request=pc.QrBody, response=pc.Qr, status=201, idempotent=True, tag="points")
    def create_qr(self, call, shop_id):
        """Valid once, for the shop's QR minutes (default 10)."""
        body = call.body
        branch_id = auth.sale_branch(call.principal, None if body["branch_id"] is None else str(body["branch_id"]))
        qr = self.points.call("create_qr", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "branch_id": branch_id, "amount": baht(body["amount"]), "receipt_no": body["receipt_no"],
            "actor": call.principal.actor})
        return self._with_images(qr, f"/shops/{shop_id}/qr/{qr['qr_id']}"), qr["replayed"]

    @endpoint("GET", "/shops/{shop_id}/qr/{qr_id}/image", summary="The one-time QR code as PNG or SVG",
              roles=(STAFF, ADMIN), query=pc.ImageQuery, produces="image/png", tag="points")
    def qr_image(self, call, shop_id, qr_id):
        qr = self.points.call("get_qr", {"shop_id": shop_id, "qr_id": qr_id})
        content = self._with_images(qr, "")["scan_url"]
        return images.qr_response(content, call.query["format"])

    @endpoint("PUT", "/shops/{shop_id}/branches/{branch_id}/printed-qr",
              summary="Enable a branch's printed QR code: fixed points, a daily limit per member",
              roles=(ADMIN,), request=pc.PrintedQrBody, response=pc.PrintedQr, tag="points")
    def set_printed_qr(self, call, shop_id, branch_id):
        printed = self.points.call("set_printed_qr", {"shop_id": shop_id, "branch_id": branch_id, **call.body})
        return self._with_images(printed, f"/shops/{shop_id}/branches/{branch_id}/printed-qr")

    @endpoint("GET", "/shops/{shop_id}/branches/{branch_id}/printed-qr/image",
              summary="The printed QR code as PNG or SVG, to print", roles=(ADMIN,), query=pc.ImageQuery,
              produces="image/png", tag="points")
    def printed_qr_image(self, call, shop_id, branch_id):
        printed = self.points.call("get_printed_qr", {"shop_id": shop_id, "branch_id": branch_id})
        return images.qr_response(self._with_images(printed, "")["scan_url"], call.query["format"])
