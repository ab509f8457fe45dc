"""Transactional outbox: events are rows written in the business transaction.

A change and its event commit together or not at all; the relay
(`chassis.relay`) publishes committed rows afterwards. Nothing here talks to
RabbitMQ.
"""
import datetime
import uuid

from nameko.extensions import DependencyProvider
from psycopg.types.json import Jsonb

INSERT = """
INSERT INTO outbox (event_id, exchange, routing_key, envelope, headers)
VALUES (%(event_id)s, %(exchange)s, %(routing_key)s, %(envelope)s, %(headers)s)
"""


def routing_key(event_type, version):
    """'points.earned', 1 -> ('points', 'earned.v1'): exchange source and routing key."""
    source, _, name = event_type.partition(".")
    if not source or not name:
        raise ValueError(f"event type must be '<service>.<name>', got {event_type!r}")
    return source, f"{name}.v{int(version)}"


def envelope(event_type, version, shop_id, data, occurred_at=None, event_id=None):
    occurred_at = occurred_at or datetime.datetime.now(datetime.UTC)
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "version": int(version),
        "occurred_at": occurred_at.astimezone(datetime.UTC).isoformat(),
        "shop_id": None if shop_id is None else str(shop_id),
        "data": data,
    }


def add(conn, event_type, version, shop_id, data, headers=None, occurred_at=None):
    """Write one event in the caller's transaction. Returns the envelope."""
    source, key = routing_key(event_type, version)
    body = envelope(event_type, version, shop_id, data, occurred_at)
    conn.execute(
        INSERT,
        {
            "event_id": body["event_id"],
            "exchange": f"{source}.events",
            "routing_key": key,
            "envelope": Jsonb(body),
            "headers": Jsonb(headers or {}),
        },
    )
    return body


def row(event_type, version, shop_id, data, headers=None, occurred_at=None):
    """The outbox row of one event as statement parameters (event_id, exchange, routing_key,
    envelope, headers), for a use case that writes it inside its own statement (one round
    trip for the change and its event). Returns (params, envelope)."""
    source, key = routing_key(event_type, version)
    body = envelope(event_type, version, shop_id, data, occurred_at)
    return {"event_id": body["event_id"], "exchange": f"{source}.events", "routing_key": key,
            "envelope": Jsonb(body), "headers": Jsonb(headers or {})}, body


COPY = "COPY outbox (event_id, exchange, routing_key, envelope, headers) FROM STDIN"


def add_many(conn, event_type, version, items, headers=None, occurred_at=None):
    """Write many events of one type in the caller's transaction with COPY (jobs that
    publish thousands at once). `items`: iterable of (shop_id, data). Returns the count."""
    source, key = routing_key(event_type, version)
    exchange, header_json, count = f"{source}.events", Jsonb(headers or {}), 0
    with conn.cursor().copy(COPY) as copy:
        for shop_id, data in items:
            body = envelope(event_type, version, shop_id, data, occurred_at)
            copy.write_row((body["event_id"], exchange, key, Jsonb(body), header_json))
            count += 1
    return count


class WorkerOutbox:
    """`add()` for one worker: events carry the worker's request id and call ids."""

    __slots__ = ("headers",)

    def __init__(self, headers):
        self.headers = headers

    def add(self, conn, event_type, version, shop_id, data, occurred_at=None):
        return add(conn, event_type, version, shop_id, data, self.headers, occurred_at)

    def add_many(self, conn, event_type, version, items, occurred_at=None):
        return add_many(conn, event_type, version, items, self.headers, occurred_at)

    def row(self, event_type, version, shop_id, data, occurred_at=None):
        return row(event_type, version, shop_id, data, self.headers, occurred_at)


class Outbox(DependencyProvider):
    """Injects a `WorkerOutbox`: `add(conn, type, version, shop_id, data)`.

    The request id and call id stack travel as nameko headers on the published
    message, so a consumer's logs carry the id of the request that caused it.
    """

    def get_dependency(self, worker_ctx):
        headers = {}
        request_id = worker_ctx.context_data.get("request_id")
        if request_id:
            headers["nameko.request_id"] = request_id
        if worker_ctx.call_id_stack:
            headers["nameko.call_id_stack"] = list(worker_ctx.call_id_stack)
        return WorkerOutbox(headers)
