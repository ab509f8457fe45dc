"""Local stand-ins for LINE's Messaging API and the SMS providers: real HTTP servers on
loopback that record what they receive and can be told to fail or to be slow. `make run`
and the tests point the real clients at them; nothing talks to the internet.

    python -m notifier.fakes --port 8090

    POST /v2/bot/message/push, /v2/bot/message/multicast   LINE (Bearer token, X-Line-Retry-Key)
    POST /sms                                              ThaiBulkSMS v2 (basic auth, form)
    POST /webhook                                          a shop's SMS webhook (JSON)
    GET  /_received                                        what arrived, in order
    POST /_control  {"fail": [503, 429, 400], "retry_after": 2, "delay": 0.5, "down": true}
                    the next requests answer those statuses, one each; `down` answers 503 until
                    told {"down": false}
    POST /_reset
"""
import argparse
import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

VALID_TOKEN_PREFIX = "token-"


class FakeProviders:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.received, self.fail, self.retry_keys = [], [], set()
            self.delay, self.retry_after, self.down = 0.0, None, False

    def _json(self, status, body, headers=None):
        return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})

    def _injected(self):
        with self.lock:
            if self.down:
                return 503
            return self.fail.pop(0) if self.fail else None

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request):
        path = request.path
        if path == "/_received":
            with self.lock:
                return self._json(200, self.received)
        if path == "/_reset":
            self.reset()
            return self._json(200, {})
        if path == "/_control":
            body = request.get_json(force=True)
            with self.lock:
                self.fail.extend(body.get("fail", []))
                self.delay = float(body.get("delay", self.delay))
                self.retry_after = body.get("retry_after", self.retry_after)
                self.down = bool(body.get("down", self.down))
            return self._json(200, {})
        if self.delay:
            time.sleep(self.delay)
        injected = self._injected()
        if injected:
            headers = {"Retry-After": str(self.retry_after)} if injected == 429 and self.retry_after else {}
            return self._json(injected, {"message": f"injected {injected}"}, headers)
        if path in ("/v2/bot/message/push", "/v2/bot/message/multicast"):
            return self._line(request, path.rsplit("/", 1)[1])
        if path == "/sms":
            if not request.headers.get("Authorization", "").startswith("Basic "):
                return self._json(401, {"error": "unauthorized"})
            to = request.form.get("msisdn") or ""
            if not (to.isdigit() and to.startswith("66")):
                return self._json(201, {"remaining_credit": 100, "phone_number_list": [],
                                        "bad_phone_number_list": [{"number": to, "message": "Invalid number"}]})
            with self.lock:
                self.received.append({"channel": "sms", "to": to, "text": request.form.get("message"),
                                      "sender": request.form.get("sender")})
                count = len(self.received)
            return self._json(201, {"remaining_credit": 100, "credit_type": "standard", "bad_phone_number_list": [],
                                    "phone_number_list": [{"number": to, "message_id": f"tbs-{count}",
                                                           "used_credit": 1}]})
        if path == "/webhook":
            body = request.get_json(force=True)
            return self._record("webhook", {"to": body.get("to"), "text": body.get("text"),
                                            "sender": body.get("sender"), "message_id": body.get("message_id")})
        return self._json(404, {"message": "not found"})

    def _line(self, request, kind):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token.startswith(VALID_TOKEN_PREFIX):
            return self._json(401, {"message": "Authentication failed"})
        body = request.get_json(force=True)
        to = body.get("to")
        if kind == "push" and not (isinstance(to, str) and to.startswith("U")):
            return self._json(400, {"message": "The property, 'to', in the request body is invalid"})
        key = request.headers.get("X-Line-Retry-Key")
        with self.lock:
            if key and key in self.retry_keys:
                return self._json(409, {"message": "The retry key is already accepted"},
                                  {"x-line-accepted-request-id": key})
            if key:
                self.retry_keys.add(key)
        texts = [m.get("text") or m.get("altText") for m in body.get("messages", [])]
        types = [m.get("type") for m in body.get("messages", [])]
        with self.lock:
            self.received.append({"channel": f"line_{kind}", "to": to, "texts": texts, "types": types,
                                  "messages": body.get("messages", []), "retry_key": key})
            ids = [{"id": f"{len(self.received)}{i:03d}", "quoteToken": "q"} for i in range(len(texts))]
        return self._json(200, {"sentMessages": ids} if kind == "push" else {})

    def _record(self, channel, item):
        with self.lock:
            self.received.append({"channel": channel, **item})
            return self._json(201, {"id": f"{channel}-{len(self.received)}"})


def serve(port, host="127.0.0.1"):
    """Start the fake servers in a background thread; returns (server, app)."""
    app = FakeProviders()
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, app


def main(argv=None):
    parser = argparse.ArgumentParser(description="fake LINE and SMS providers on loopback")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    app = FakeProviders()
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
