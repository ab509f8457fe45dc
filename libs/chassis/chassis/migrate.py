"""Create a service's database if missing and apply its migrations with yoyo.

Every service database gets the chassis tables (outbox, inbox, idempotency
keys) from `chassis/migrations` and then its own `migrations/` folder.

    python -m chassis.migrate --config services/points/config.yaml --migrations services/points/migrations
"""
import argparse
import pathlib
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from chassis import config as config_module
from chassis import logs

log = logs.get_logger("chassis.migrate")

CHASSIS_MIGRATIONS = str(pathlib.Path(__file__).parent / "migrations")


def _with_database(dsn, database):
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(dsn):
    return urlsplit(dsn).path.lstrip("/")


def ensure_database(dsn, template=None):
    """CREATE DATABASE for the DSN's database if it does not exist. Returns True if created."""
    name = database_name(dsn)
    with psycopg.connect(_with_database(dsn, "postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        admin.execute(statement)
    return True


def drop_database(dsn):
    name = database_name(dsn)
    with psycopg.connect(_with_database(dsn, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def apply(dsn, service_migrations):
    """Apply the chassis migrations, then the service's. Returns the ids applied now."""
    backend = get_backend(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    migrations = read_migrations(CHASSIS_MIGRATIONS, str(service_migrations))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return [m.id for m in pending]


def main(argv=None):
    parser = argparse.ArgumentParser(description="create and migrate a service database")
    parser.add_argument("--config", required=True)
    parser.add_argument("--migrations", required=True)
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    dsn = config_module.db_settings(config)["DSN"]
    created = ensure_database(dsn)
    applied = apply(dsn, args.migrations)
    log.info("database_migrated", database=database_name(dsn), created=created, applied=applied)


if __name__ == "__main__":
    main()
