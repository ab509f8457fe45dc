import pathlib
import urllib.request

from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from chassis.testing import service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"


def test_the_service_answers_ping_and_serves_health_and_metrics(container_factory, rabbit_config, database_factory):
    from rewards.service import RewardsService

    port = find_free_port()
    dsn = database_factory("rewards", MIGRATIONS)
    config = service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    container_factory(RewardsService, config).start()
    with ServiceRpcProxy("rewards", config, timeout=10) as proxy:
        assert proxy.ping() == {"service": "rewards", "database": "up"}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
        assert reply.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    assert 'loyalty_outbox_backlog{service="rewards"} 0.0' in text
    assert 'loyalty_entrypoint_calls_total{entrypoint="ping",kind="rpc",outcome="ok",service="rewards"} 1.0' in text
