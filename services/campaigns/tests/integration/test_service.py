import pathlib

from nameko.testing.utils import find_free_port

from chassis.testing import check_plumbing, service_config

MIGRATIONS = pathlib.Path(__file__).parents[2] / "migrations"


def test_the_service_answers_ping_and_serves_health_and_metrics(container_factory, rabbit_config, database_factory):
    from campaigns.service import CampaignsService

    dsn = database_factory("campaigns", MIGRATIONS)
    config = service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")
    check_plumbing(container_factory, CampaignsService, config)
