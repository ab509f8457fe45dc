"""Stamp cards: the admin designs and runs the card (lifecycle, printed QR per branch,
statistics), staff give stamps by one-time QR and void them, members' scans.

A member scans with their member token (`POST /shops/{shop_id}/me/stamps/scans`, in
`routes/me.py`); here staff or an internal system may scan for a phone they name."""
from chassis.fields import baht
from gateway import auth, images
from gateway import stamps_contracts as sc
from gateway.auth import ADMIN, INTERNAL, STAFF
from gateway.endpoints import endpoint

CARDS = "/shops/{shop_id}/stamp-cards"
CARD = CARDS + "/{card_id}"


def _design(body):
    """The loaded HTTP body as the points RPC takes it (baht as text, ids and dates as strings)."""
    design = dict(body)
    if "rule" in design:
        per_baht = design["rule"].get("per_baht")
        design["rule"] = {**design["rule"], "per_baht": None if per_baht is None else baht(per_baht)}
    if "tickets" in design:
        design["tickets"] = [{"at": t["at"], "reward_id": str(t["reward_id"])} for t in design["tickets"]]
    if design.get("validity"):
        until = design["validity"].get("until")
        design["validity"] = {**design["validity"], "until": until.isoformat() if until else None}
    return design


class StampRoutes:
    # --- the admin's card -----------------------------------------------------------

    @endpoint("POST", CARDS, summary="Design a stamp card (a draft)", roles=(ADMIN,), request=sc.CardBody,
              response=sc.StampCard, status=201, idempotent=True, tag="stamps")
    def create_stamp_card(self, call, shop_id):
        """Tickets name rewards of the catalogue at stamp counts; the last at the full card. Refused for
        24 hours after the shop suspended a card (409 card_waiting_time)."""
        card = self.points.call("create_stamp_card", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "actor": call.principal.actor, **_design(call.body)})
        return card, card["replayed"]

    @endpoint("GET", CARDS, summary="The shop's stamp cards", roles=(ADMIN, STAFF), query=sc.StampListQuery,
              response=sc.StampCards, tag="stamps")
    def list_stamp_cards(self, call, shop_id):
        return self.points.call("list_stamp_cards", {"shop_id": shop_id, **call.query})

    @endpoint("GET", CARD, summary="A stamp card", roles=(ADMIN, STAFF), response=sc.StampCard, tag="stamps")
    def get_stamp_card(self, call, shop_id, card_id):
        return self.points.call("get_stamp_card", {"shop_id": shop_id, "card_id": card_id})

    @endpoint("PATCH", CARD, summary="Edit a draft card, or an active card's expiry", roles=(ADMIN,),
              request=sc.CardEditBody, response=sc.StampCard, tag="stamps")
    def edit_stamp_card(self, call, shop_id, card_id):
        """After activation only `validity` may change (409 card_field_locked); a suspended card never
        changes (409 card_suspended)."""
        return self.points.call("update_stamp_card", {"shop_id": shop_id, "card_id": card_id,
                                                      "actor": call.principal.actor, **_design(call.body)})

    @endpoint("POST", CARD + "/activate", summary="Activate a draft card (one active card per shop)",
              roles=(ADMIN,), response=sc.StampCard, tag="stamps")
    def activate_stamp_card(self, call, shop_id, card_id):
        """409 active_card_exists, card_suspended (never again), card_waiting_time."""
        return self.points.call("activate_stamp_card", {"shop_id": shop_id, "card_id": card_id,
                                                        "actor": call.principal.actor})

    @endpoint("POST", CARD + "/suspend", summary="Suspend the active card: final, resets every member's stamps",
              roles=(ADMIN,), request=sc.StampSuspendBody, response=sc.StampCard, tag="stamps")
    def suspend_stamp_card(self, call, shop_id, card_id):
        """Needs `confirm: true` (422 suspension_not_confirmed). A new card can be created 24 hours later."""
        return self.points.call("suspend_stamp_card", {"shop_id": shop_id, "card_id": card_id,
                                                       "confirm": call.body["confirm"],
                                                       "actor": call.principal.actor})

    @endpoint("DELETE", CARD, summary="Delete a draft card", roles=(ADMIN,), response=sc.StampCard, tag="stamps")
    def delete_stamp_card(self, call, shop_id, card_id):
        """409 card_not_deletable for an active or suspended card."""
        return self.points.call("delete_stamp_card", {"shop_id": shop_id, "card_id": card_id,
                                                      "actor": call.principal.actor})

    @endpoint("GET", "/shops/{shop_id}/stamps/stats",
              summary="Cards issued, stamps given, tickets issued and used, per day and branch",
              roles=(ADMIN,), query=sc.StampStatsQuery, response=sc.StampStats, tag="stamps")
    def stamp_stats(self, call, shop_id):
        """Up to the previous shop day; `live=true` includes today up to now."""
        q = call.query
        return self.points.call("stamp_stats", {
            "shop_id": shop_id, "since": q["since"].isoformat(), "until": q["until"].isoformat(), "live": q["live"],
            "branch_id": None if q["branch_id"] is None else str(q["branch_id"])})

    # --- QR codes ---------------------------------------------------------------------

    def _stamp_images(self, result, path):
        base = self.config.get("MEMBER_SCAN_URL", "http://127.0.0.1:8000/scan")
        return {**result, "scan_url": images.scan_url(base, result["token"]),
                "image_png": f"{path}/image?format=png", "image_svg": f"{path}/image?format=svg"}

    @endpoint("PUT", "/shops/{shop_id}/branches/{branch_id}/printed-stamp-qr",
              summary="Enable a branch's printed stamp QR code: stamps per scan, a daily limit per member",
              roles=(ADMIN,), request=sc.PrintedStampQrBody, response=sc.PrintedStampQr, tag="stamps")
    def set_printed_stamp_qr(self, call, shop_id, branch_id):
        printed = self.points.call("set_printed_stamp_qr", {"shop_id": shop_id, "branch_id": branch_id,
                                                            "actor": call.principal.actor, **call.body})
        return self._stamp_images(printed, f"/shops/{shop_id}/branches/{branch_id}/printed-stamp-qr")

    @endpoint("GET", "/shops/{shop_id}/branches/{branch_id}/printed-stamp-qr/image",
              summary="The printed stamp QR code as PNG or SVG, to print", roles=(ADMIN,), query=sc.StampImageQuery,
              produces="image/png", tag="stamps")
    def printed_stamp_qr_image(self, call, shop_id, branch_id):
        printed = self.points.call("get_printed_stamp_qr", {"shop_id": shop_id, "branch_id": branch_id})
        return images.qr_response(self._stamp_images(printed, "")["scan_url"], call.query["format"])

    @endpoint("POST", "/shops/{shop_id}/stamp-qr", summary="A one-time stamp QR code for a purchase",
              roles=(STAFF, ADMIN), request=sc.StampQrBody, response=sc.StampQr, status=201, idempotent=True,
              tag="stamps")
    def create_stamp_qr(self, call, shop_id):
        """Valid once, for the shop's QR minutes; its stamps follow the active card's rule."""
        body = call.body
        branch_id = auth.sale_branch(call.principal, None if body["branch_id"] is None else str(body["branch_id"]))
        qr = self.points.call("create_stamp_qr", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "branch_id": branch_id,
            "amount": None if body["amount"] is None else baht(body["amount"]), "actor": call.principal.actor})
        return self._stamp_images(qr, f"/shops/{shop_id}/stamp-qr/{qr['qr_id']}"), qr["replayed"]

    @endpoint("GET", "/shops/{shop_id}/stamp-qr/{qr_id}/image", summary="The one-time stamp QR code as PNG or SVG",
              roles=(STAFF, ADMIN), query=sc.StampImageQuery, produces="image/png", tag="stamps")
    def stamp_qr_image(self, call, shop_id, qr_id):
        qr = self.points.call("get_stamp_qr", {"shop_id": shop_id, "qr_id": qr_id})
        return images.qr_response(self._stamp_images(qr, "")["scan_url"], call.query["format"])

    @endpoint("POST", "/shops/{shop_id}/stamps/scans", summary="A member's scan of a stamp QR code, for a phone",
              roles=(STAFF, ADMIN, INTERNAL), request=sc.StampScanBody, response=sc.StampGrant, status=201,
              idempotent=True, tag="stamps")
    def scan_stamp_qr(self, call, shop_id):
        """For staff (the member's phone at hand) and internal systems; members use `/me/stamps/scans`."""
        result = self.points.call("claim_stamps", {"shop_id": shop_id, "phone": call.body["phone"],
                                                   "token": call.body["token"], "idempotency_key": call.key})
        return result, result["replayed"]

    @endpoint("POST", "/shops/{shop_id}/stamps/entries/{entry_id}/void", summary="Void stamps given, with a reason",
              roles=(STAFF, ADMIN), request=sc.StampVoidBody, response=sc.StampVoidResult, status=201, idempotent=True,
              path_types={"entry_id": int}, tag="stamps")
    def void_stamps(self, call, shop_id, entry_id):
        """Once per grant; stamps of a card already filled or expired are reported as `unrecovered`. A
        branch's staff void only their branch's stamps (403 wrong_branch)."""
        principal = call.principal
        result = self.points.call("void_stamps", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, "entry_id": entry_id,
            "reason": call.body["reason"], "actor": principal.actor,
            "at_branch": principal.branch_id if principal.role == STAFF else None})
        return result, result["replayed"]

    @endpoint("GET", "/shops/{shop_id}/members/by-phone/{phone}/stamps",
              summary="A member's stamp cards, stamp history and reward tickets",
              roles=(STAFF, ADMIN, INTERNAL), query=sc.StampHistoryQuery, response=sc.MemberStampsView, tag="stamps")
    def member_stamps(self, call, shop_id, phone):
        return self.points.call("member_stamps", {"shop_id": shop_id, "phone": phone, **call.query})
