"""Personal data (PDPA): a member's data export (gathered here from every service), erasure,
shop cancellation, answer retention, and the retention job on request."""
import datetime

import eventlet

from chassis import errors
from gateway import privacy_contracts as pc
from gateway.auth import ADMIN, MEMBER, OPERATOR
from gateway.endpoints import endpoint

DATA_HOLDERS = ("points", "rewards", "notifier")


class PrivacyRoutes:
    @endpoint("GET", "/shops/{shop_id}/members/{member_id}/data-export",
              summary="Everything the platform holds on a member, from every service", roles=(ADMIN, MEMBER),
              response=pc.DataExport, tag="members")
    def data_export(self, call, shop_id, member_id):
        """The members service names the member's phone (or, once erased, their pseudonym); points,
        rewards and notifier answer what they hold on it, in parallel. A service that does not
        answer makes the whole export a 503: an export is complete or it is not given. A member
        (member token) may export only their own data."""
        if call.principal.role == MEMBER and call.principal.member_id != member_id:
            raise errors.Forbidden("not_your_data", "a member may export only their own data")
        members = self.members.call("member_data", {"shop_id": shop_id, "member_id": member_id})
        request = {"shop_id": shop_id, "phone": members["phone"]}
        pool = eventlet.GreenPool(len(DATA_HOLDERS))
        parts = dict(zip(DATA_HOLDERS, pool.imap(
            lambda service: getattr(self, service).call("member_data", request), DATA_HOLDERS), strict=True))
        return {"shop_id": shop_id, "member_id": member_id,
                "exported_at": datetime.datetime.now(datetime.UTC).isoformat(), "members": members, **parts}

    @endpoint("POST", "/shops/{shop_id}/members/{member_id}/erasure",
              summary="Erase a member's personal data in every service (PDPA)", roles=(ADMIN,),
              response=pc.Erasure, idempotent=True, tag="members")
    def erase_member(self, call, shop_id, member_id):
        """The member's personal fields, answers and tags go; their points, coupons and messages stay,
        named by a pseudonym (erased:<member_id>) in every service (members.erased). A later sale
        with the same phone is a new person. Erasing twice changes nothing (`already_erased`)."""
        erased = self.members.call("erase_member", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "member_id": member_id, "actor": call.principal.actor})
        return erased, erased["replayed"]

    @endpoint("POST", "/shops/{shop_id}/cancellation", summary="Cancel a shop (its API keys stop at once)",
              roles=(OPERATOR,), response=pc.ShopCancelled, idempotent=True, tag="platform")
    def cancel_shop(self, call, shop_id):
        """The shop's data is kept 90 days after the end of the month of cancellation (shop time),
        then deleted in every service by the retention job."""
        cancelled = self.members.call("cancel_shop", {"idempotency_key": call.key, "fingerprint": call.fingerprint,
                                                      "shop_id": shop_id})
        return cancelled, cancelled["replayed"]

    @endpoint("PUT", "/shops/{shop_id}/answer-retention", summary="How long registration answers are kept",
              roles=(ADMIN,), request=pc.AnswerRetentionBody, response=pc.AnswerRetention, tag="members")
    def set_answer_retention(self, call, shop_id):
        return self.members.call("set_answer_retention", {"shop_id": shop_id, "days": call.body["days"]})

    @endpoint("POST", "/retention-runs", summary="Run the retention job now, or as of a given time",
              roles=(OPERATOR,), request=pc.RetentionRunBody, response=pc.RetentionRun, tag="platform")
    def run_retention(self, call):
        """Deletes answers past each shop's retention and purges cancelled shops past their keeping
        time; safe to repeat. It also runs hourly on its own."""
        as_of = call.body["as_of"]
        return self.members.call("run_retention", {"as_of": as_of.isoformat() if as_of else None}, timeout=300)
