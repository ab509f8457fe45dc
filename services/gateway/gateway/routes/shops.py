"""Shops, branches, staff, API keys, and members by phone."""
import eventlet

from chassis import errors
from chassis.fields import baht
from gateway import contracts
from gateway.auth import ADMIN, INTERNAL, OPERATOR, STAFF
from gateway.endpoints import endpoint


def rule_payload(shop_id, rule, branch_id=None):
    return {"shop_id": shop_id, "branch_id": branch_id, "points": rule["points"], "per_baht": baht(rule["per_baht"]),
            "min_spend": baht(rule["min_spend"])}


class ShopRoutes:
    @endpoint("POST", "/shops", summary="Create a shop with its earn rule; returns the first admin API key",
              roles=(OPERATOR,), request=contracts.CreateShopBody, response=contracts.ShopCreated,
              status=201, idempotent=True)
    def create_shop(self, call):
        """The shop's time zone defaults to Asia/Bangkok. The earn rule gives `points` for
        every `per_baht` of spend, rounding down."""
        created = self.members.call("create_shop", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint,
            "name": call.body["name"], "timezone": call.body["timezone"]})
        shop_id = created["shop"]["shop_id"]
        rule = self.points.call("set_earn_rule", rule_payload(shop_id, call.body["earn_rule"]))
        return {**created, "earn_rule": rule}, created["replayed"]

    @endpoint("GET", "/shops/{shop_id}", summary="A shop and its current earn rule",
              roles=(OPERATOR, ADMIN), response=contracts.ShopView)
    def get_shop(self, call, shop_id):
        shop = self.members.call("get_shop", {"shop_id": shop_id})
        try:
            rule = self.points.call("get_earn_rule", {"shop_id": shop_id})
        except errors.Conflict:
            rule = None
        return {"shop": shop, "earn_rule": rule}

    @endpoint("PUT", "/shops/{shop_id}/earn-rule", summary="Change the earn rule (applies to later sales)",
              roles=(ADMIN,), request=contracts.EarnRuleBody, response=contracts.EarnRule)
    def set_earn_rule(self, call, shop_id):
        """Setting the same terms again changes nothing; new terms make a new rule version."""
        return self.points.call("set_earn_rule", rule_payload(shop_id, call.body))

    @endpoint("POST", "/shops/{shop_id}/branches", summary="Add a branch", roles=(ADMIN,),
              request=contracts.BranchBody, response=contracts.Branch, status=201, idempotent=True)
    def create_branch(self, call, shop_id):
        branch = self.members.call("create_branch", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, **call.body})
        return branch, branch["replayed"]

    @endpoint("POST", "/shops/{shop_id}/staff", summary="Add a staff member and issue their API key",
              roles=(ADMIN,), request=contracts.StaffBody, response=contracts.StaffCreated, status=201,
              idempotent=True)
    def create_staff(self, call, shop_id):
        """A staff member acts for one branch, or for every branch when branch_id is omitted (a manager)."""
        branch_id = call.body["branch_id"]
        staff = self.members.call("create_staff", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "name": call.body["name"], "branch_id": None if branch_id is None else str(branch_id)})
        return staff, staff["replayed"]

    @endpoint("POST", "/shops/{shop_id}/api-keys", summary="Issue an API key for an internal system or an admin",
              roles=(ADMIN,), request=contracts.ApiKeyBody, response=contracts.ApiKeyCreated, status=201,
              idempotent=True)
    def create_api_key(self, call, shop_id):
        issued = self.members.call("create_api_key", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id, **call.body})
        return issued, issued["replayed"]

    @endpoint("GET", "/shops/{shop_id}/members/by-phone/{phone}", summary="A member and their points, by phone",
              roles=(STAFF, ADMIN, INTERNAL), response=contracts.MemberView, tag="members")
    def member_by_phone(self, call, shop_id, phone):
        """404 member_not_found when the phone has neither a member record nor points in this shop."""
        request = {"shop_id": shop_id, "phone": phone}
        member_call = eventlet.spawn(self.maybe, self.members, "get_member_by_phone", request)
        account = self.maybe(self.points, "balance", request)
        member = member_call.wait()
        if member is None and account is None:
            raise errors.NotFound("member_not_found", "no member with this phone in this shop",
                                  {"phone": ["unknown member"]})
        phone_e164 = (member or account)["phone"]
        return {"shop_id": shop_id, "phone": phone_e164, "member": member,
                "points": {"balance": account["balance"] if account else 0}}

    @staticmethod
    def maybe(client, method, request):
        try:
            return client.call(method, request)
        except errors.NotFound:
            return None
