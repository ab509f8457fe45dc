"""pytest fixtures shared by the services' tests (loaded as a pytest plugin).

Each test that needs PostgreSQL gets its own database, cloned from a template
that was migrated once (`CREATE DATABASE ... TEMPLATE`): isolated and fast.
The template's name carries a hash of the migration files, so a changed
migration builds a new template. Imports are inside the fixtures so that
nothing here imports psycopg before `nameko test` applies the eventlet patch.
"""
import hashlib
import os
import pathlib
import uuid

import pytest

SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _dsn(server_dsn, database):
    from chassis.migrate import _with_database

    return _with_database(server_dsn, database)


def _migrations_hash(*dirs):
    digest = hashlib.sha256()
    for directory in dirs:
        for path in sorted(pathlib.Path(directory).glob("*.sql")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def pg_server_dsn():
    return os.environ.get("PG_TEST_SERVER_DSN", SERVER_DSN)


@pytest.fixture(scope="session")
def database_template(pg_server_dsn):
    """template(name, migrations_dir) -> name of a migrated template database."""
    import psycopg
    from psycopg import sql

    from chassis import migrate

    made = {}

    def template(name, migrations_dir):
        key = (name, str(migrations_dir))
        if key in made:
            return made[key]
        # PG_TEST_TEMPLATE_SCOPE keeps checkouts that test at the same time on one server
        # (worktrees) from dropping each other's templates as stale.
        scope = os.environ.get("PG_TEST_TEMPLATE_SCOPE", "")
        prefix = f"tmpl_{name}_{scope + '_' if scope else ''}"
        final = f"{prefix}{_migrations_hash(migrate.CHASSIS_MIGRATIONS, migrations_dir)}"
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (final,)).fetchone()
            if not exists:
                building = f"{final}_b{os.getpid()}"
                migrate.drop_database(_dsn(pg_server_dsn, building))
                migrate.ensure_database(_dsn(pg_server_dsn, building))
                migrate.apply(_dsn(pg_server_dsn, building), migrations_dir)
                try:
                    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(final)))
                except psycopg.errors.DuplicateDatabase:
                    migrate.drop_database(_dsn(pg_server_dsn, building))
            stale = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                (prefix.replace("_", "\\_") + "%", final),
            ).fetchall()
        for (old,) in stale:
            rest = old[len(prefix):]
            if "_b" not in rest and (scope or rest.isalnum()):
                migrate.drop_database(_dsn(pg_server_dsn, old))
        made[key] = final
        return final

    return template


@pytest.fixture
def database_factory(pg_server_dsn, database_template):
    """create(name, migrations_dir) -> DSN of a fresh migrated database, dropped after the test."""
    from chassis import migrate

    created = []

    def create(name, migrations_dir):
        template = database_template(name, migrations_dir)
        dsn = _dsn(pg_server_dsn, f"t_{name}_{uuid.uuid4().hex[:10]}")
        migrate.ensure_database(dsn, template=template)
        created.append(dsn)
        return dsn

    yield create
    for dsn in created:
        migrate.drop_database(dsn)


def service_config(rabbit_config, dsn, **extra):
    """A nameko config for one service under test: per-test vhost, per-test database."""
    config = {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "DB": {"DSN": dsn, "POOL_MIN": 1, "POOL_MAX": 10},
        "RPC_TIMEOUT": 5,
        "EVENT_RETRY_DELAYS": [0.2, 0.4],
        "LOG_LEVEL": "WARNING",
    }
    config.update(extra)
    return config


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll `predicate` until it is true or `timeout` passes; return its last value (tests never sleep blind)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def check_plumbing(container_factory, service_cls, config):
    """What every service with a database must do from day one: answer an RPC ping with its
    database up, serve /healthz and /metrics (with the outbox backlog) on its own port, and
    run its hourly housekeeping."""
    import urllib.request

    from nameko.standalone.rpc import ServiceRpcProxy
    from nameko.testing.services import entrypoint_hook

    name = service_cls.name
    container = container_factory(service_cls, config)
    container.start()
    with entrypoint_hook(container, "chassis_housekeeping") as housekeeping:
        housekeeping()
    with ServiceRpcProxy(name, config, timeout=10) as proxy:
        assert proxy.ping() == {"service": name, "database": "up"}
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as reply:
        assert reply.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    assert f'loyalty_outbox_backlog{{service="{name}"}} 0.0' in text
    assert f'loyalty_entrypoint_calls_total{{entrypoint="ping",kind="rpc",outcome="ok",service="{name}"}} 1.0' in text
