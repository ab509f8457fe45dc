import datetime
import pathlib
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from chassis.testing import service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"
SHOP = "11111111-1111-1111-1111-111111111111"
PHONE = "+66812345678"
LINE_USER = "U" + "a" * 32


@pytest.fixture
def fake():
    from notifier import fakes

    port = find_free_port()
    server, app = fakes.serve(port)
    app.url = f"http://127.0.0.1:{port}"
    yield app
    server.shutdown()


@pytest.fixture
def dsn(database_factory):
    return database_factory("notifier", MIGRATIONS)


@pytest.fixture
def config(rabbit_config, dsn, fake):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}",
                          LINE_API_URL=fake.url, THAIBULKSMS_URL=fake.url, SENDER_ENABLED="false")


@pytest.fixture
def notifier(container_factory, config):
    from notifier.service import NotifierService

    container_factory(NotifierService, config).start()
    with ServiceRpcProxy("notifier", config, timeout=20) as proxy:
        proxy.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": "token-0123456789",
                             "sms_enabled": True, "sms_provider": "thaibulksms", "sms_sender": "CAFE",
                             "sms_credentials": {"api_key": "k", "api_secret": "s"}})
        yield proxy


@pytest.fixture
def db(dsn):
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def publish(config):
    dispatch = event_dispatcher(config)

    def send(service, event_type, data, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": f"{service}.{event_type}", "version": 1,
                    "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(), "shop_id": SHOP, "data": data}
        dispatch(service, f"{event_type}.v1", envelope)
        return envelope["event_id"]

    return send


def later(**delta):
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(**delta)).isoformat()
