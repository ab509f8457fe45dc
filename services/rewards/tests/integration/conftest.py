import pathlib
import uuid

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from chassis import errors
from chassis.testing import service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"

SHOP = "11111111-1111-1111-1111-111111111111"
OTHER_SHOP = "44444444-4444-4444-4444-444444444444"
BRANCH = "22222222-2222-2222-2222-222222222222"
OTHER_BRANCH = "33333333-3333-3333-3333-333333333333"
PHONE = "+66812345678"


class FakeMembers:
    """The members service as rewards sees it: shops, branches, members' tiers."""

    name = "members"
    tiers = {}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_shop(self, request):
        if request["shop_id"] not in (SHOP, OTHER_SHOP):
            raise errors.NotFound("shop_not_found", "no such shop", {"shop_id": ["unknown shop"]})
        return {"shop_id": request["shop_id"], "timezone": "Asia/Bangkok", "name": "Cafe"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_branch(self, request):
        if request["branch_id"] not in (BRANCH, OTHER_BRANCH):
            raise errors.NotFound("branch_not_found", "no such branch", {"branch_id": ["unknown branch"]})
        return {"branch_id": request["branch_id"], "shop_id": request["shop_id"]}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_member_by_phone(self, request):
        if request["phone"] not in self.tiers:
            raise errors.NotFound("member_not_found", "no such member", {"phone": ["unknown"]})
        return {"phone": request["phone"], "tier": self.tiers[request["phone"]]}


class FakePoints:
    """The points service's spend contract (idempotent spend, refund_spend with
    cancel_if_absent), with switches to fail the ways a real one can."""

    name = "points"
    balances = {}
    spends = {}
    cancelled = set()
    mode = {"spend": "ok", "refund": "ok"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def balance(self, request):
        if request["phone"] not in self.balances:
            raise errors.NotFound("account_not_found", "no account", {"phone": ["unknown"]})
        return {"balance": self.balances[request["phone"]]}

    @rpc(expected_exceptions=errors.EXPECTED)
    def spend(self, request):
        mode, key = self.mode["spend"], request["idempotency_key"]
        if mode == "silent":
            eventlet.sleep(30)
        if key in self.spends:
            return {**self.spends[key], "replayed": True}
        if key in self.cancelled:
            raise errors.Conflict("spend_cancelled", "cancelled", {"idempotency_key": ["cancelled"]})
        balance = self.balances.get(request["phone"])
        if balance is None:
            raise errors.NotFound("account_not_found", "no account", {"phone": ["unknown"]})
        if balance < request["points"]:
            raise errors.Conflict("insufficient_points", "short", {"points": ["more than the balance"]})
        self.balances[request["phone"]] = balance - request["points"]
        self.spends[key] = {"spend_key": key, "phone": request["phone"], "points": request["points"],
                            "balance": self.balances[request["phone"]], "refunded": False}
        if mode == "lost_answer":
            eventlet.sleep(30)  # spent, but the caller never hears of it
        return {**self.spends[key], "replayed": False}

    @rpc(expected_exceptions=errors.EXPECTED)
    def refund_spend(self, request):
        if self.mode["refund"] == "silent":
            eventlet.sleep(30)
        key = request["spend_key"]
        spent = self.spends.get(key)
        if spent is None:
            if not request.get("cancel_if_absent"):
                raise errors.NotFound("spend_not_found", "no spend", {"spend_key": ["unknown"]})
            self.cancelled.add(key)
            return {"spend_key": key, "points": 0, "cancelled": True}
        if not spent["refunded"]:
            spent["refunded"] = True
            self.balances[spent["phone"]] += spent["points"]
        return {"spend_key": key, "points": spent["points"], "cancelled": False}


@pytest.fixture
def dsn(database_factory):
    return database_factory("rewards", MIGRATIONS)


@pytest.fixture
def config(rabbit_config, dsn):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}", RPC_TIMEOUT=2)


@pytest.fixture
def fakes(container_factory, config):
    FakeMembers.tiers = {}
    FakePoints.balances, FakePoints.spends, FakePoints.cancelled = {PHONE: 1000}, {}, set()
    FakePoints.mode = {"spend": "ok", "refund": "ok"}
    for fake in (FakeMembers, FakePoints):
        container_factory(fake, config).start()
    return FakePoints


@pytest.fixture
def rewards(container_factory, config, fakes):
    from rewards.service import RewardsService

    container_factory(RewardsService, config).start()
    with ServiceRpcProxy("rewards", config, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def db(dsn):
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def reward_request(**over):
    return {"shop_id": SHOP, "kind": "in_store", "name": "Free coffee", "points_cost": 100, **over}


def redeem_request(reward_id, phone=PHONE, **over):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": SHOP, "reward_id": reward_id, "phone": phone,
            "actor": {"type": "staff", "id": "staff-1"}, "branch_id": BRANCH, **over}


def staff_use(code, branch=BRANCH, shop=SHOP):
    return {"shop_id": shop, "code": code, "branch_id": branch, "actor": {"type": "staff", "id": "staff-1"}}


ADDRESS = {"name": "Somchai", "phone": "0812345678", "line1": "1 Sukhumvit Rd", "province": "Bangkok",
           "postcode": "10110"}


def events(db, event_type):
    return [row["envelope"] for row in db.execute(
        "SELECT envelope FROM outbox WHERE envelope->>'type' = %s ORDER BY id", (event_type,)).fetchall()]
