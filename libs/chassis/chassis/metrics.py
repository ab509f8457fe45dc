"""Prometheus metrics per service: calls, errors, latency, events, outbox backlog.

Each container gets its own registry (tests start many containers in one
process; the global registry would refuse the second). `Metrics.render()`
serves it from the service's `/metrics` HTTP entrypoint. nameko-prometheus
was considered: it registers globally, counts no errors and cannot report the
outbox; this is the part of it we need.
"""
import time
import weakref

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from chassis import errors
from chassis.db import Database

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

BACKLOG = """
SELECT count(*) AS backlog,
       coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age
FROM outbox WHERE published_at IS NULL
"""


def _kind(entrypoint):
    for cls, name in ((Rpc, "rpc"), (EventHandler, "event"), (HttpRequestHandler, "http"), (Timer, "timer")):
        if isinstance(entrypoint, cls):
            return name
    return "other"


class OutboxCollector:
    """Reads the outbox backlog at scrape time (partial index: cheap)."""

    def __init__(self, service, pool):
        self.service = service
        self.pool = pool

    def collect(self):
        backlog = GaugeMetricFamily(
            "loyalty_outbox_backlog", "Events committed but not yet published", labels=["service"])
        age = GaugeMetricFamily(
            "loyalty_outbox_oldest_age_seconds", "Age of the oldest unpublished event", labels=["service"])
        try:
            with self.pool.connection(timeout=2) as conn:
                row = conn.execute(BACKLOG).fetchone()
            backlog.add_metric([self.service], row["backlog"])
            age.add_metric([self.service], float(row["oldest_age"]))
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            backlog.add_metric([self.service], float("nan"))
        yield backlog
        yield age


class Metrics(DependencyProvider):
    def setup(self):
        service = self.container.service_name
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "loyalty_entrypoint_calls", "Entrypoint calls by outcome",
            ["service", "entrypoint", "kind", "outcome"], registry=self.registry,
        )
        self.latency = Histogram(
            "loyalty_entrypoint_latency_seconds", "Entrypoint duration",
            ["service", "entrypoint", "kind"], registry=self.registry, buckets=LATENCY_BUCKETS,
        )
        self.events = Counter(
            "loyalty_events_consumed", "Events handled, by source, type and outcome",
            ["service", "source", "event_type", "outcome"], registry=self.registry,
        )
        self.service = service
        self.started = weakref.WeakKeyDictionary()

    def start(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                self.registry.register(OutboxCollector(self.service, dependency.pool))

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        entrypoint = worker_ctx.entrypoint
        kind = _kind(entrypoint)
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], errors.EXPECTED):
            outcome = "expected_error"
        else:
            outcome = "error"
        name = entrypoint.method_name
        self.calls.labels(self.service, name, kind, outcome).inc()
        if started is not None:
            self.latency.labels(self.service, name, kind).observe(time.perf_counter() - started)
        if kind == "event":
            count = len(worker_ctx.args[0]) if getattr(entrypoint, "max_batch", None) else 1
            self.events.labels(self.service, entrypoint.source_service, entrypoint.event_type, outcome).inc(count)

    def get_dependency(self, worker_ctx):
        return self

    def counter(self, name, documentation, labels):
        """A service's own counter in this container's registry (made once)."""
        made = getattr(self, "_counters", None)
        if made is None:
            made = self._counters = {}
        if name not in made:
            made[name] = Counter(name, documentation, ["service", *labels], registry=self.registry)
        return made[name]

    def render(self):
        """(status, headers, body) for a nameko @http entrypoint."""
        return 200, {"Content-Type": CONTENT_TYPE_LATEST}, generate_latest(self.registry).decode("utf-8")
