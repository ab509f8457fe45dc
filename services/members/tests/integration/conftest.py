import pathlib
import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from chassis.testing import service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"


@pytest.fixture
def dsn(database_factory):
    return database_factory("members", MIGRATIONS)


@pytest.fixture
def config(rabbit_config, dsn):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")


@pytest.fixture
def members(container_factory, config):
    from chassis import topology
    from members.service import MembersService

    topology.declare(MembersService, config)
    container_factory(MembersService, config).start()
    with ServiceRpcProxy("members", config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def db(dsn):
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def shop(members):
    return members.create_shop({"idempotency_key": str(uuid.uuid4()), "name": "Cafe Amazon"})


def key():
    return str(uuid.uuid4())
