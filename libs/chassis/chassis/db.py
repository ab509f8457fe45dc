"""Pooled PostgreSQL (psycopg 3) that cooperates with eventlet.

psycopg picks its C wait function unless told otherwise, and that function
blocks the whole eventlet hub: every green thread then waits for every query
(stack-notes, pitfall 1). `ensure_cooperative_wait()` makes the choice explicit
at runtime too, so a process started without PSYCOPG_WAIT_FUNC still overlaps
its queries; a test in this package proves they overlap.
"""
import contextlib

import psycopg
from nameko.extensions import DependencyProvider
from psycopg import waiting
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from chassis import config as config_module
from chassis import errors, logs

log = logs.get_logger(__name__)


def eventlet_patched():
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover - eventlet is a dependency
        return False
    return patcher.is_monkey_patched("select") or patcher.is_monkey_patched("socket")


def ensure_cooperative_wait():
    """Use psycopg's select-based wait under eventlet. Returns the wait function in use."""
    if eventlet_patched() and waiting.wait is not waiting.wait_select:
        log.warning("psycopg_wait_function_replaced", was=getattr(waiting.wait, "__name__", "?"))
        waiting.wait = waiting.wait_select
    return waiting.wait


def make_pool(dsn, min_size=1, max_size=10, timeout=5.0, name="db"):
    ensure_cooperative_wait()
    pool = ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        name=name,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    )
    pool.open(wait=True, timeout=timeout)
    return pool


class Store:
    """What a worker gets: transactions and one-off reads on the pool."""

    def __init__(self, pool):
        self.pool = pool

    @contextlib.contextmanager
    def transaction(self):
        """A connection inside one transaction: committed on exit, rolled back on error."""
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield conn
        except PoolTimeout:
            raise errors.Unavailable("database_busy", "no database connection became free in time") from None
        except psycopg.OperationalError as exc:
            raise errors.Unavailable("database_unavailable", f"database error: {exc.__class__.__name__}") from None

    @contextlib.contextmanager
    def connection(self):
        """An autocommit connection, for reads that need no transaction."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise errors.Unavailable("database_busy", "no database connection became free in time") from None
        except psycopg.OperationalError as exc:
            raise errors.Unavailable("database_unavailable", f"database error: {exc.__class__.__name__}") from None


class Database(DependencyProvider):
    """Injects a `Store` over a connection pool sized from the `DB` config section."""

    def setup(self):
        settings = config_module.db_settings(self.container.config)
        self.pool = make_pool(
            settings["DSN"],
            min_size=settings["POOL_MIN"],
            max_size=settings["POOL_MAX"],
            timeout=float(settings["POOL_TIMEOUT"]),
            name=self.container.service_name,
        )
        self.store = Store(self.pool)

    def stop(self):
        self.pool.close()

    def kill(self):
        self.pool.close(timeout=0)

    def get_dependency(self, worker_ctx):
        return self.store
