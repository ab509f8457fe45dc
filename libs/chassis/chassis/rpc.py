"""RPC to another service with a deadline.

nameko's RpcProxy dependency waits forever (stack-notes, pitfall 6). Every call
made through `RpcClient` has a deadline (config `RPC_TIMEOUT`, seconds, or per
call) and turns "nobody answered" into `errors.Unavailable`, so a caller fails
fast and clearly when a service or the broker is down. Value-creating callees
are idempotent on a key the caller sends, which makes a retry after a timeout
safe.
"""
import eventlet
import kombu.exceptions
from amqp.exceptions import AMQPError
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener, ServiceProxy

from chassis import errors

BROKER_ERRORS = (OSError, AMQPError, kombu.exceptions.KombuError)


class ServiceClient:
    def __init__(self, proxy, reply_listener, service_name, timeout):
        self._proxy = proxy
        self._reply_listener = reply_listener
        self.service_name = service_name
        self.timeout = timeout

    def call(self, method, payload=None, timeout=None):
        """Call `method(payload)` on the service; raise errors.Unavailable after the deadline."""
        deadline = self.timeout if timeout is None else timeout
        reply = None
        try:
            with eventlet.Timeout(deadline):
                reply = getattr(self._proxy, method).call_async(payload)
                return reply.result()
        except eventlet.Timeout:
            self._forget(reply)
            raise errors.Unavailable(
                "service_timeout", f"{self.service_name} did not answer within {deadline:g}s"
            ) from None
        except UnknownService:
            raise errors.Unavailable(
                "service_unavailable", f"{self.service_name} is not running"
            ) from None
        except BROKER_ERRORS as exc:
            raise errors.Unavailable(
                "broker_unavailable", f"message broker unavailable ({type(exc).__name__})"
            ) from None

    def _forget(self, reply):
        # A reply that never comes would otherwise keep its waiter forever.
        if reply is None:
            return
        pending = self._reply_listener._reply_events
        for correlation_id, event in list(pending.items()):
            if event is reply.reply_event:
                pending.pop(correlation_id, None)


class RpcClient(DependencyProvider):
    """Injects a `ServiceClient` for `target_service`."""

    rpc_reply_listener = ReplyListener()

    def __init__(self, target_service, timeout=None):
        self.target_service = target_service
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        timeout = self.timeout or float(self.container.config.get("RPC_TIMEOUT", 5))
        proxy = ServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener)
        return ServiceClient(proxy, self.rpc_reply_listener, self.target_service, timeout)
