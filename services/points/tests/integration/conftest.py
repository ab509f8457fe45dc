import pathlib
import uuid

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from chassis import errors
from chassis.testing import service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"

SHOP = uuid.UUID("11111111-1111-1111-1111-111111111111")
BRANCH = uuid.UUID("22222222-2222-2222-2222-222222222222")
OTHER_BRANCH = uuid.UUID("33333333-3333-3333-3333-333333333333")


class FakeMembers:
    """The members service as points sees it: a directory of shops and branches."""

    name = "members"
    shops = {}
    branches = {}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_shop(self, request):
        shop = self.shops.get(request["shop_id"])
        if shop is None:
            raise errors.NotFound("shop_not_found", "no such shop", {"shop_id": ["unknown shop"]})
        return shop

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_branch(self, request):
        branch = self.branches.get(request["branch_id"])
        if branch is None or branch["shop_id"] != request["shop_id"]:
            raise errors.NotFound("branch_not_found", "no such branch", {"branch_id": ["unknown branch"]})
        return branch


@pytest.fixture
def dsn(database_factory):
    return database_factory("points", MIGRATIONS)


@pytest.fixture
def config(rabbit_config, dsn):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}",
                          QR_SECRET="test-qr-secret-0123456789")


@pytest.fixture
def members(container_factory, config):
    FakeMembers.shops = {str(SHOP): {"shop_id": str(SHOP), "timezone": "Asia/Bangkok", "name": "Cafe"}}
    FakeMembers.branches = {
        str(BRANCH): {"branch_id": str(BRANCH), "shop_id": str(SHOP)},
        str(OTHER_BRANCH): {"branch_id": str(OTHER_BRANCH), "shop_id": str(SHOP)},
    }
    container = container_factory(FakeMembers, config)
    container.start()
    return FakeMembers


@pytest.fixture
def points(container_factory, config, members):
    from points.service import PointsService

    container = container_factory(PointsService, config)
    container.start()
    with ServiceRpcProxy("points", config, timeout=10) as proxy:
        proxy.set_earn_rule({"shop_id": str(SHOP), "points": 1, "per_baht": "25"})
        yield proxy


@pytest.fixture
def db(dsn):
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def sale(**overrides):
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "shop_id": str(SHOP),
        "branch_id": str(BRANCH),
        "phone": "081-234-5678",
        "amount": "125.50",
        "actor": {"type": "staff", "id": "staff-1"},
    }
    body.update(overrides)
    return body


def staff():
    return {"type": "staff", "id": "staff-1"}


def spend_request(points, phone="0812345678", key=None, **extra):
    return {"idempotency_key": key or str(uuid.uuid4()), "shop_id": str(SHOP), "phone": phone, "points": points,
            "reason": "reward", "actor": {"type": "system", "id": "rewards"}, **extra}


def void_request(**target):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "reason": "customer returned the goods",
            "actor": staff(), **target}


def credit_request(points, phone="0812345678", **extra):
    return {"idempotency_key": str(uuid.uuid4()), "shop_id": str(SHOP), "phone": phone, "points": points,
            "source": "admin", "reason": "goodwill", "actor": {"type": "admin", "id": "admin-1"}, **extra}


def balance_of(points, phone="0812345678"):
    return points.balance({"shop_id": str(SHOP), "phone": phone})["balance"]


def check_ledger(db):
    """balance = sum of entries = sum of lot remainders, for every account."""
    rows = db.execute(
        "SELECT a.balance, (SELECT coalesce(sum(points), 0) FROM entries e WHERE e.shop_id = a.shop_id "
        "AND e.phone = a.phone) AS entries, (SELECT coalesce(sum(remaining), 0) FROM lots l "
        "WHERE l.shop_id = a.shop_id AND l.phone = a.phone) AS lots FROM accounts a").fetchall()
    for row in rows:
        assert row["balance"] == row["entries"] == row["lots"], row
        assert row["balance"] >= 0
