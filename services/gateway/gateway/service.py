"""The HTTP edge: authenticates API keys, checks roles, calls the services over RPC.

Routes live in `gateway.routes` (thin: each loads its body through `endpoint`,
makes its calls and returns what its response schema dumps). Every call has a
deadline (RPC_TIMEOUT); a service or broker that does not answer is a 503.
"""
from nameko.dependency_providers import Config
from nameko.events import BROADCAST
from nameko.events import event_handler as nameko_event_handler
from nameko.extensions import DependencyProvider

from chassis.logs import ContextLogging
from chassis.metrics import Metrics
from chassis.rpc import RpcClient
from gateway import auth
from gateway.auth import Principal
from gateway.routes.imports import ImportRoutes
from gateway.routes.me import MeRoutes
from gateway.routes.members import MemberRoutes
from gateway.routes.notifications import NotificationRoutes
from gateway.routes.platform import PlatformRoutes
from gateway.routes.points import PointsRoutes
from gateway.routes.privacy import PrivacyRoutes
from gateway.routes.rewards import RewardRoutes
from gateway.routes.shops import ShopRoutes
from gateway.routes.stamps import StampRoutes
from gateway.routes.tiers import TierRoutes


class KeyCacheProvider(DependencyProvider):
    def setup(self):
        self.cache = auth.KeyCache(float(self.container.config.get("AUTH_CACHE_SECONDS", 10)))

    def get_dependency(self, worker_ctx):
        return self.cache


class GatewayService(ShopRoutes, MemberRoutes, MeRoutes, PointsRoutes, RewardRoutes, StampRoutes, NotificationRoutes,
                     PlatformRoutes, ImportRoutes, PrivacyRoutes, TierRoutes):
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

    # Every gateway replica hears these (its own queue, BROADCAST): a revoked member token or
    # an erased member stops working on all replicas at once, not after AUTH_CACHE_SECONDS.
    @nameko_event_handler("members", "signed_out.v1", handler_type=BROADCAST, reliable_delivery=False)
    def on_member_signed_out(self, body):
        self.keys.forget_ids(((body or {}).get("data") or {}).get("token_ids") or ())

    @nameko_event_handler("members", "erased.v1", handler_type=BROADCAST, reliable_delivery=False)
    def on_member_erased(self, body):
        member_id = ((body or {}).get("data") or {}).get("member_id")
        self.keys.forget_ids([member_id] if member_id else ())

    def authenticate(self, api_key):
        principal = self.keys.get(api_key)
        if principal is None and api_key.startswith(auth.MEMBER_TOKEN_PREFIX):
            principal = auth.MemberPrincipal(**self.members.call("authenticate_member", {"token": api_key}))
            self.keys.put(api_key, principal)
        elif principal is None:
            principal = Principal(**self.members.call("authenticate", {"api_key": api_key}))
            self.keys.put(api_key, principal)
        return principal
