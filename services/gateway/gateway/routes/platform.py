"""Health, the OpenAPI document, metrics."""
import time

import eventlet

from chassis import errors
from gateway import contracts, openapi
from gateway.endpoints import ROUTES, Reply, endpoint
from gateway.http import http, json_response

SERVICES = ("points", "members", "rewards", "campaigns", "notifier")


class PlatformRoutes:
    @endpoint("GET", "/healthz", summary="Each service up or down (RPC ping with a short timeout)",
              response=contracts.Health, tag="platform")
    def healthz(self, call):
        """200 when every service answered its ping and reached its database, else 503."""
        timeout = float(self.config.get("HEALTH_TIMEOUT", 1))
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(zip(SERVICES, pool.imap(lambda s: self._ping(s, timeout), SERVICES), strict=True))
        if all(c["status"] == "up" for c in checks.values()):
            return {"status": "up", "services": checks}
        return Reply(503, {"status": "degraded", "services": checks})

    def _ping(self, service, timeout):
        started = time.perf_counter()
        try:
            answer = getattr(self, service).call("ping", None, timeout=timeout)
        except errors.ServiceError as exc:
            return {"status": "down", "error": exc.code}
        except Exception as exc:  # noqa: BLE001 - a health check reports, it never fails
            return {"status": "down", "error": type(exc).__name__}
        latency = round((time.perf_counter() - started) * 1000, 1)
        status = "up" if answer.get("database") == "up" else "down"
        return {"status": status, "database": answer.get("database"), "latency_ms": latency}

    @http("GET", "/openapi.json")
    def openapi_document(self, request):
        return json_response(200, openapi.build(ROUTES))

    @http("GET", "/metrics")
    def http_metrics(self, request):
        return self.metrics.render()
