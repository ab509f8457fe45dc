import pathlib

import pytest

EMPTY_MIGRATIONS = pathlib.Path(__file__).parent / "empty_migrations"


@pytest.fixture
def dsn(database_factory):
    """A database with only the chassis tables."""
    return database_factory("chassis", EMPTY_MIGRATIONS)


@pytest.fixture
def store(dsn):
    from chassis.db import Store, make_pool

    pool = make_pool(dsn, min_size=1, max_size=10)
    yield Store(pool)
    pool.close()


@pytest.fixture
def bound_queue(amqp_uri):
    """bind(exchange, routing_key) -> a queue that receives what the relay publishes."""
    from kombu import Connection, Exchange, Queue

    conn = Connection(amqp_uri)
    made = []

    def bind(exchange_name, routing_key):
        exchange = Exchange(exchange_name, type="topic", durable=True)
        queue = Queue(f"test-{exchange_name}-{routing_key}", exchange=exchange, routing_key=routing_key)
        simple = conn.SimpleQueue(queue)
        made.append(simple)
        return simple

    yield bind
    for simple in made:
        simple.close()
    conn.release()
