"""structlog JSON logs, one line per event, with the call id bound per worker.

`configure()` routes both structlog and the standard library (nameko, kombu,
eventlet.wsgi) through one JSON renderer. `ContextLogging` binds service,
entrypoint, call id and request id into contextvars for the duration of each
worker; under eventlet each green thread has its own context.
"""
import logging
import sys
import time
import weakref

import structlog
from nameko.extensions import DependencyProvider

_configured = False

_shared = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
]

QUIET_LOGGERS = {"nameko.web.server": logging.WARNING, "amqp": logging.WARNING}


def configure(level="INFO", stream=None):
    """Idempotent: the first call in a process wins."""
    global _configured
    if _configured:
        return
    _configured = True
    structlog.configure(
        processors=_shared + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.captureWarnings(True)
    root.setLevel(level)
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)


def get_logger(name=None):
    return structlog.get_logger(name)


# Entrypoints called every few seconds by probes and scrapers: not logged when they succeed.
QUIET_ENTRYPOINTS = {"ping", "http_metrics", "http_healthz", "healthz"}


class ContextLogging(DependencyProvider):
    """Binds the worker's identity into every log line the worker writes, and
    writes one `handled` line per entrypoint call (outcome and duration).

    `call_id` is nameko's id of this worker; `request_id` is the id the gateway
    received (or made) for the HTTP request and that travels in nameko's context
    data through every RPC and event that follows.
    """

    def __init__(self, handled_lines=True):
        self.handled_lines = handled_lines

    def setup(self):
        configure(self.container.config.get("LOG_LEVEL", "INFO"))
        self.log = structlog.get_logger(self.container.service_name)
        self.started = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx):
        return structlog.get_logger(self.container.service_name)

    def worker_setup(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            call_id=worker_ctx.call_id,
            request_id=worker_ctx.context_data.get("request_id"),
        )
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        name = worker_ctx.entrypoint.method_name
        if not self.handled_lines or (exc_info is None and name in QUIET_ENTRYPOINTS):
            return
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        duration_ms = None if started is None else round((time.perf_counter() - started) * 1000, 2)
        self.log.info("handled", outcome=outcome, duration_ms=duration_ms)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
