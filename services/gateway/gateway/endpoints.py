"""One decorator per HTTP route: who may call it, what it takes and returns.

The same table registers the nameko @http entrypoint and builds the OpenAPI
document, so the document cannot forget a route. Every response is JSON;
every error is `{"error": {"code", "message", "fields"}}` with the status of
the error's kind; an unexpected failure is a 500 with the request id to look
up in the logs, never a stack trace.
"""
import json
import time
import uuid
from dataclasses import dataclass, field

from werkzeug.wrappers import Response

from chassis import errors, idempotency, logs
from gateway.auth import api_key_from, authorize
from gateway.http import error_response, http, json_response

log = logs.get_logger("gateway")

ROUTES = []


@dataclass
class Route:
    name: str
    method: str
    path: str
    summary: str
    description: str
    roles: tuple | None
    request: type | None
    response: type | None
    status: int
    idempotent: bool
    tag: str
    path_params: list = field(default_factory=list)
    path_types: dict = field(default_factory=dict)
    query: type | None = None
    produces: str = "application/json"

    def __post_init__(self):
        # built once: a schema is stateless, building one per request is wasted work
        self.request_schema = self.request() if self.request else None
        self.response_schema = self.response() if self.response else None
        self.query_schema = self.query() if self.query else None

    def path_type(self, name):
        """A path parameter's type: `<x>_id` is a UUID unless declared otherwise."""
        return self.path_types.get(name, uuid.UUID if name.endswith("_id") else str)


@dataclass
class Reply:
    """A handler's answer with a status other than the route's own (e.g. a 503 health report)."""

    status: int
    payload: dict


@dataclass
class Call:
    """What a route handler gets: the caller, the loaded body, the idempotency key."""

    principal: object
    body: dict
    key: str | None
    fingerprint: str
    request_id: str
    query: dict


def endpoint(method, path, *, summary, roles=None, request=None, response=None, status=200,
             idempotent=False, tag="shops", path_types=None, query=None, produces="application/json"):
    def decorate(fn):
        params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        route = Route(fn.__name__, method, path, summary, (fn.__doc__ or "").strip(), roles, request,
                      response, status, idempotent, tag, params, path_types or {}, query, produces)
        ROUTES.append(route)

        def entry(self, request, **path_values):
            return handle(self, route, fn, request, path_values)

        entry.__name__, entry.__qualname__, entry.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return http(method, path.replace("{", "<").replace("}", ">"))(entry)

    return decorate


def _json_body(request):
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("malformed_json", "the request body is not valid JSON") from None


def _path_values(route, values):
    """Path ids of the wrong shape name nothing that exists: 404."""
    clean = dict(values)
    for name in route.path_params:
        kind = route.path_type(name)
        if kind is str:
            continue
        try:
            clean[name] = str(uuid.UUID(values[name])) if kind is uuid.UUID else kind(values[name])
        except ValueError:
            resource = name.removesuffix("_id")
            raise errors.NotFound(f"{resource}_not_found", f"no {resource} {values[name]!r}") from None
    return clean


def _query(route, request):
    if route.query_schema is None:
        return {}
    repeatable = getattr(route.query_schema, "list_fields", ())  # parameters that may repeat
    args = {key: (values if key in repeatable else values[-1]) for key, values in request.args.lists()}
    return errors.load(route.query_schema, args, message="query parameters are invalid")


def handle(service, route, fn, request, path_values):
    started = time.perf_counter()
    request_id = request.environ.get("loyalty.request_id", "")
    headers = {"X-Request-ID": request_id}
    principal = None
    try:
        path_values = _path_values(route, path_values)
        if route.roles is not None:
            principal = service.authenticate(api_key_from(request.headers))
            authorize(principal, route.roles, path_values.get("shop_id"))
        raw = _json_body(request) if route.request else {}
        body = errors.load(route.request_schema, raw) if route.request else {}
        key = None
        if route.idempotent:
            key = request.headers.get("Idempotency-Key", "").strip()
            if not key or len(key) > 200:
                raise errors.BadRequest("idempotency_key_required",
                                        "send an Idempotency-Key header (1-200 characters) with this request",
                                        {"Idempotency-Key": ["required header"]})
        # a member's key is theirs: the same key and body from another member of the shop is
        # another request (409 idempotency_key_reused), never a replay of someone else's answer
        fingerprint = idempotency.fingerprint({"route": route.name, "path": path_values, "body": raw,
                                               "member": getattr(principal, "member_id", None)})
        call = Call(principal, body, key, fingerprint, request_id, _query(route, request))
        result = fn(service, call, **path_values)
        if isinstance(result, Response):
            result.headers.update(headers)
            return _logged(service, route, started, result, principal)
        replayed = False
        if isinstance(result, tuple):
            result, replayed = result
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        status = route.status
        if isinstance(result, Reply):
            status, result = result.status, result.payload
        payload = route.response_schema.dump(result) if route.response else result
        response = json_response(status, payload, headers)
    except errors.ServiceError as exc:
        if exc.status == 503:
            headers["Retry-After"] = "1"
        response = error_response(exc.status, exc.code, exc.message, exc.fields, headers)
    except Exception:  # noqa: BLE001 - the one place where any failure becomes a 500
        log.exception("http_unhandled_error", route=route.name)
        response = error_response(500, "internal_error",
                                  f"the request failed; quote request id {request_id}", None, headers)
    return _logged(service, route, started, response, principal)


def _logged(service, route, started, response, principal):
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    service.metrics.counter("loyalty_http_responses", "HTTP responses by route and status",
                            ["route", "status"]).labels("gateway", route.name, str(response.status_code)).inc()
    log.info("http_request", method=route.method, route=route.path, status=response.status_code,
             duration_ms=elapsed_ms, key_id=getattr(principal, "key_id", None))
    return response

