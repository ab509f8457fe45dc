"""The HTTP edge: authenticates API keys, checks roles, calls the services over RPC.

Routes are thin: each loads its body (done by `endpoint`), makes the calls
and returns what the response schema dumps. Every call has a deadline
(RPC_TIMEOUT); a service or broker that does not answer is a 503.
"""
import time

import eventlet
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from chassis import errors
from chassis.fields import baht
from chassis.logs import ContextLogging
from chassis.metrics import Metrics
from chassis.rpc import RpcClient
from gateway import auth, contracts, openapi
from gateway.auth import ADMIN, INTERNAL, OPERATOR, STAFF, Principal
from gateway.endpoints import ROUTES, Reply, endpoint
from gateway.http import http, json_response

SERVICES = ("points", "members", "rewards", "campaigns", "notifier")


class KeyCacheProvider(DependencyProvider):
    def setup(self):
        self.cache = auth.KeyCache(float(self.container.config.get("AUTH_CACHE_SECONDS", 10)))

    def get_dependency(self, worker_ctx):
        return self.cache


def _rule_payload(shop_id, rule):
    return {"shop_id": shop_id, "points": rule["points"], "per_baht": baht(rule["per_baht"]),
            "min_spend": baht(rule["min_spend"])}


class GatewayService:
    name = "gateway"

    members = RpcClient("members")
    points = RpcClient("points")
    rewards = RpcClient("rewards")
    campaigns = RpcClient("campaigns")
    notifier = RpcClient("notifier")
    keys = KeyCacheProvider()
    config = Config()
    log = ContextLogging(handled_lines=False)  # endpoints write one http_request line each
    metrics = Metrics()

    def authenticate(self, api_key):
        principal = self.keys.get(api_key)
        if principal is None:
            principal = Principal(**self.members.call("authenticate", {"api_key": api_key}))
            self.keys.put(api_key, principal)
        return principal

    # --- shops -------------------------------------------------------------

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
        rule = self.points.call("set_earn_rule", _rule_payload(shop_id, call.body["earn_rule"]))
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
        return self.points.call("set_earn_rule", _rule_payload(shop_id, call.body))

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

    # --- points --------------------------------------------------------------

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

    @endpoint("GET", "/shops/{shop_id}/members/by-phone/{phone}", summary="A member and their points, by phone",
              roles=(STAFF, ADMIN, INTERNAL), response=contracts.MemberView, tag="members")
    def member_by_phone(self, call, shop_id, phone):
        """404 member_not_found when the phone has neither a member record nor points in this shop."""
        request = {"shop_id": shop_id, "phone": phone}
        member_call = eventlet.spawn(self._maybe, self.members, "get_member_by_phone", request)
        account = self._maybe(self.points, "balance", request)
        member = member_call.wait()
        if member is None and account is None:
            raise errors.NotFound("member_not_found", "no member with this phone in this shop",
                                  {"phone": ["unknown member"]})
        phone_e164 = (member or account)["phone"]
        return {"shop_id": shop_id, "phone": phone_e164, "member": member,
                "points": {"balance": account["balance"] if account else 0}}

    @staticmethod
    def _maybe(client, method, request):
        try:
            return client.call(method, request)
        except errors.NotFound:
            return None

    # --- platform --------------------------------------------------------------

    @endpoint("GET", "/healthz", summary="Each service up or down (RPC ping with a short timeout)",
              response=contracts.Health, tag="platform")
    def healthz(self, call):
        """200 when every service answered its ping and reached its database, else 503."""
        timeout = float(self.config.get("HEALTH_TIMEOUT", 1))
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(zip(SERVICES, pool.imap(lambda s: self._ping(s, timeout), SERVICES), strict=False))
        if all(c["status"] == "up" for c in checks.values()):
            return {"status": "up", "services": checks}
        return Reply(503, {"status": "degraded", "services": checks})

    def _ping(self, service, timeout):
        started = time.perf_counter()
        try:
            answer = getattr(self, service).call("ping", None, timeout=timeout)
        except errors.ServiceError as exc:
            return {"status": "down", "error": exc.code}
        except Exception as exc:  # noqa: BLE001 - a health check reports, it never fails
            return {"status": "down", "error": type(exc).__name__}
        latency = round((time.perf_counter() - started) * 1000, 1)
        status = "up" if answer.get("database") == "up" else "down"
        return {"status": status, "database": answer.get("database"), "latency_ms": latency}

    @http("GET", "/openapi.json")
    def openapi_document(self, request):
        return json_response(200, openapi.build(ROUTES))

    @http("GET", "/metrics")
    def http_metrics(self, request):
        return self.metrics.render()

