"""nameko's @http with a request id, JSON errors for unmatched routes, and JSON replies."""
import json
import re
import uuid

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def json_response(status, payload, headers=None):
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    headers=headers or {}, content_type="application/json")


def error_response(status, code, message, fields=None, headers=None):
    return json_response(status, {"error": {"code": code, "message": message, "fields": fields or {}}}, headers)


class RequestIdWebServer(WebServer):
    """Takes X-Request-ID (or makes one) into nameko's context data, which
    travels with every RPC and event that follows."""

    def context_data_from_headers(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.environ["loyalty.request_id"] = request_id
        return {"request_id": request_id}

    def get_wsgi_app(self):
        app = WsgiApp(self)

        def wsgi(environ, start_response):
            try:
                app.url_map.bind_to_environ(environ).match()
            except HTTPException as exc:
                code = "not_found" if exc.code == 404 else "method_not_allowed"
                return error_response(exc.code, code, "no such endpoint" if exc.code == 404
                                      else "method not allowed here")(environ, start_response)
            return app(environ, start_response)

        return wsgi


class HttpEntrypoint(HttpRequestHandler):
    server = RequestIdWebServer()


http = HttpEntrypoint.decorator
