import pathlib

from nameko.testing.utils import find_free_port

from chassis.testing import check_plumbing, service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"


def test_the_service_answers_ping_and_serves_health_and_metrics(container_factory, rabbit_config, database_factory):
    from rewards.service import RewardsService

    dsn = database_factory("rewards", MIGRATIONS)
    config = service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")
    check_plumbing(container_factory, RewardsService, config)
