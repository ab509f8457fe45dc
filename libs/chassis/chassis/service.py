"""What every loyalty service with a database has, as a base class.

Database pool, outbox, JSON logs with the call id, metrics, an RPC `ping`
(the gateway's health check), and HTTP `/metrics` and `/healthz` on the
service's own port (config WEB_SERVER_ADDRESS).
"""
import datetime
import json

from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.timer import timer
from nameko.web.handlers import http

from chassis import housekeeping
from chassis.db import Database
from chassis.logs import ContextLogging
from chassis.metrics import Metrics
from chassis.outbox import Outbox


class ServiceBase:
    config = Config()
    db = Database()
    outbox = Outbox()
    log = ContextLogging()
    metrics = Metrics()

    def _database_up(self):
        try:
            with self.db.connection() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - health reports, it does not raise
            return False

    @rpc
    def ping(self, request=None):
        """Liveness over RPC: answers while the service consumes; says if its database answers."""
        return {"service": self.name, "database": "up" if self._database_up() else "down"}

    @timer(interval=3600)
    def chassis_housekeeping(self):
        """Hourly: purge idempotency keys (7 days) and inbox ids (30 days) past retention."""
        settings = self.config.get("RETENTION") or {}
        with self.db.transaction() as conn:
            purged = housekeeping.run(
                conn,
                datetime.datetime.now(datetime.UTC),
                idempotency_hours=int(settings.get("IDEMPOTENCY_HOURS", housekeeping.DEFAULT_IDEMPOTENCY_HOURS)),
                inbox_days=int(settings.get("INBOX_DAYS", housekeeping.DEFAULT_INBOX_DAYS)),
            )
        self.log.info("housekeeping_done", **purged)

    @http("GET", "/metrics")
    def http_metrics(self, request):
        return self.metrics.render()

    @http("GET", "/healthz")
    def http_healthz(self, request):
        up = self._database_up()
        body = {"service": self.name, "status": "up" if up else "degraded", "database": "up" if up else "down"}
        return (200 if up else 503), {"Content-Type": "application/json"}, json.dumps(body)
