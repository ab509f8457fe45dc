"""The gateway against real RabbitMQ, with the services it calls played by small nameko services."""
import time
import uuid

import eventlet
import httpx
import pytest
from nameko.rpc import rpc
from nameko.testing.utils import find_free_port

from chassis import errors

SHOP = "11111111-1111-1111-1111-111111111111"
BRANCH = "22222222-2222-2222-2222-222222222222"
seen = {}


class FakeMembers:
    name = "members"

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate(self, request):
        if request["api_key"] != "lk_staff":
            raise errors.Unauthorized("invalid_api_key", "unknown key")
        return {"key_id": "k1", "role": "branch_staff", "shop_id": SHOP, "branch_id": BRANCH, "staff_id": "s1"}

    @rpc
    def ping(self, request=None):
        return {"service": "members", "database": "up"}


class FakePoints:
    name = "points"

    @rpc(expected_exceptions=errors.EXPECTED)
    def earn(self, request):
        seen["earn"] = request
        if request["receipt_no"] == "slow":
            eventlet.sleep(5)
        if request["receipt_no"] == "crash":
            raise RuntimeError("a bug in points")
        return {"sale_id": str(uuid.uuid4()), "shop_id": SHOP, "branch_id": request["branch_id"],
                "phone": request["phone"], "amount": request["amount"], "receipt_no": request["receipt_no"],
                "points": 5, "balance": 5, "entry_id": 1, "rule_version": 1, "created_at": "2026-01-01T00:00:00+00:00",
                "replayed": False}

    @rpc
    def ping(self, request=None):
        return {"service": "points", "database": "up"}


@pytest.fixture
def gateway(container_factory, rabbit_config):
    from gateway.service import GatewayService

    port = find_free_port()
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
              "RPC_TIMEOUT": 1, "HEALTH_TIMEOUT": 0.5, "LOG_LEVEL": "WARNING"}
    for cls in (GatewayService, FakeMembers, FakePoints):
        container_factory(cls, config).start()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client


def post_sale(client, receipt_no="r1", key="lk_staff", **headers):
    return client.post(f"/shops/{SHOP}/sales", json={"phone": "081-234-5678", "amount": "125.5",
                                                      "receipt_no": receipt_no},
                       headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4()), **headers})


def test_a_sale_reaches_points_with_the_staff_branch_actor_and_request_id(gateway):
    reply = post_sale(gateway, **{"X-Request-ID": "req-123"})
    assert reply.status_code == 201, reply.text
    assert reply.headers["X-Request-ID"] == "req-123"
    sent = seen["earn"]
    assert (sent["branch_id"], sent["phone"], sent["amount"]) == (BRANCH, "+66812345678", "125.50")
    assert sent["actor"] == {"type": "staff", "id": "s1"}
    assert sent["fingerprint"]


def test_a_service_that_does_not_answer_in_time_is_a_503_not_a_hang(gateway):
    started = time.monotonic()
    reply = post_sale(gateway, receipt_no="slow")
    assert time.monotonic() - started < 3
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "service_timeout"
    assert reply.headers["Retry-After"] == "1"


def test_an_unexpected_failure_is_a_json_500_with_the_request_id_and_no_trace(gateway):
    reply = post_sale(gateway, receipt_no="crash", **{"X-Request-ID": "req-crash"})
    assert reply.status_code == 500
    assert reply.json()["error"]["code"] == "internal_error"
    assert "req-crash" in reply.json()["error"]["message"] and "Traceback" not in reply.text


def test_an_unknown_key_is_401(gateway):
    reply = post_sale(gateway, key="lk_nobody")
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_api_key"


def test_health_names_the_services_that_did_not_answer(gateway):
    reply = gateway.get("/healthz")
    assert reply.status_code == 503
    services = reply.json()["services"]
    assert services["points"]["status"] == "up" and services["members"]["status"] == "up"
    assert services["rewards"] == {"status": "down", "error": "service_unavailable"}


def test_unknown_routes_and_methods_answer_json(gateway):
    assert gateway.get("/nowhere").json()["error"]["code"] == "not_found"
    reply = gateway.delete(f"/shops/{SHOP}/sales")
    assert reply.status_code == 405 and reply.json()["error"]["code"] == "method_not_allowed"


def test_the_openapi_document_is_served(gateway):
    document = gateway.get("/openapi.json").json()
    assert "/shops/{shop_id}/sales" in document["paths"]
