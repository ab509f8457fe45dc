"""Personal-data routes against real RabbitMQ, with the services played by small nameko services."""
import uuid

import httpx
import pytest
from nameko.rpc import rpc
from nameko.testing.utils import find_free_port

from chassis import errors

SHOP = "11111111-1111-1111-1111-111111111111"
OTHER_SHOP = "44444444-4444-4444-4444-444444444444"
MEMBER = "7b0c3c4e-5f43-4b8e-9c1e-8b5e3f7f6a10"
KEYS = {"lk_admin": {"key_id": "k1", "role": "shop_admin", "shop_id": SHOP, "branch_id": None, "staff_id": None},
        "lk_operator": {"key_id": "k2", "role": "platform_operator", "shop_id": None, "branch_id": None,
                        "staff_id": None},
        "lk_staff": {"key_id": "k3", "role": "branch_staff", "shop_id": SHOP, "branch_id": None, "staff_id": "s1"}}
calls = {}


class FakeMembers:
    name = "members"

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate(self, request):
        if request["api_key"] not in KEYS:
            raise errors.Unauthorized("invalid_api_key", "unknown key")
        return KEYS[request["api_key"]]

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate_member(self, request):
        member_id = request["token"].removeprefix("mt_")
        return {"token_id": "t1", "shop_id": SHOP, "member_id": member_id, "phone": "+66812345678"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_data(self, request):
        if request["member_id"] != MEMBER:
            raise errors.NotFound("member_not_found", "no such member", {"member_id": ["unknown member"]})
        return {"service": "members", "member_id": MEMBER, "phone": "+66812345678", "member": {"name": "Nok"}}

    @rpc(expected_exceptions=errors.EXPECTED)
    def erase_member(self, request):
        calls["erase_member"] = request
        return {"member_id": request["member_id"], "phone": None, "pseudonym": f"erased:{request['member_id']}",
                "erased_at": "2026-11-27T00:00:00+00:00", "already_erased": False, "replayed": False}

    @rpc(expected_exceptions=errors.EXPECTED)
    def cancel_shop(self, request):
        calls["cancel_shop"] = request
        return {"shop_id": request["shop_id"], "cancelled_at": "2026-01-15T03:00:00+00:00",
                "purge_due_at": "2026-05-01T17:00:00+00:00", "purged": False, "replayed": False}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_answer_retention(self, request):
        return {"shop_id": request["shop_id"], "days": request["days"]}

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_retention(self, request):
        calls["run_retention"] = request
        return {"answers_deleted": 3, "shops_purged": [SHOP]}


def holder(service):
    class Holder:
        name = service

        @rpc(expected_exceptions=errors.EXPECTED)
        def member_data(self, request):
            calls[f"{service}.member_data"] = request
            return {"service": service, "phone": request["phone"], "records": [service]}

    return Holder


def start(container_factory, rabbit_config, services):
    from gateway.service import GatewayService

    port = find_free_port()
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
              "RPC_TIMEOUT": 1, "LOG_LEVEL": "WARNING"}
    for cls in (GatewayService, FakeMembers, *services):
        container_factory(cls, config).start()
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)


@pytest.fixture
def gateway(container_factory, rabbit_config):
    calls.clear()
    with start(container_factory, rabbit_config, [holder(s) for s in ("points", "rewards", "notifier")]) as client:
        yield client


def auth(key, **headers):
    return {"Authorization": f"Bearer {key}", **headers}


def test_an_admin_s_export_gathers_every_service_s_part_by_the_member_s_phone(gateway):
    reply = gateway.get(f"/shops/{SHOP}/members/{MEMBER}/data-export", headers=auth("lk_admin"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["members"]["member"] == {"name": "Nok"} and body["member_id"] == MEMBER
    for service in ("points", "rewards", "notifier"):
        assert body[service]["records"] == [service]
        assert calls[f"{service}.member_data"] == {"shop_id": SHOP, "phone": "+66812345678"}


def test_a_member_exports_their_own_data_only(gateway):
    assert gateway.get(f"/shops/{SHOP}/members/{MEMBER}/data-export", headers=auth(f"mt_{MEMBER}")).status_code == 200
    other = gateway.get(f"/shops/{SHOP}/members/{uuid.uuid4()}/data-export", headers=auth(f"mt_{MEMBER}"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_your_data"


def test_staff_and_other_shops_get_no_export_and_an_unknown_member_is_404(gateway):
    assert gateway.get(f"/shops/{SHOP}/members/{MEMBER}/data-export", headers=auth("lk_staff")).status_code == 403
    assert gateway.get(f"/shops/{OTHER_SHOP}/members/{MEMBER}/data-export",
                       headers=auth("lk_admin")).json()["error"]["code"] == "wrong_shop"
    missing = gateway.get(f"/shops/{SHOP}/members/{uuid.uuid4()}/data-export", headers=auth("lk_admin"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "member_not_found"


def test_an_export_is_complete_or_a_503(container_factory, rabbit_config):
    with start(container_factory, rabbit_config, [holder("points"), holder("rewards")]) as client:
        reply = client.get(f"/shops/{SHOP}/members/{MEMBER}/data-export", headers=auth("lk_admin"))
    assert reply.status_code == 503 and reply.headers["Retry-After"]


def test_erasure_needs_an_idempotency_key_and_passes_the_admin_as_actor(gateway):
    path = f"/shops/{SHOP}/members/{MEMBER}/erasure"
    missing = gateway.post(path, headers=auth("lk_admin"))
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_required"
    reply = gateway.post(path, headers=auth("lk_admin", **{"Idempotency-Key": "e-1"}))
    assert reply.status_code == 200 and reply.json()["pseudonym"] == f"erased:{MEMBER}"
    assert "phone" not in reply.json()
    sent = calls["erase_member"]
    assert (sent["idempotency_key"], sent["actor"], sent["shop_id"]) == ("e-1", {"type": "admin", "id": "k1"}, SHOP)
    assert gateway.post(path, headers=auth("lk_staff", **{"Idempotency-Key": "e-2"})).status_code == 403


def test_only_an_operator_cancels_a_shop(gateway):
    path = f"/shops/{SHOP}/cancellation"
    assert gateway.post(path, headers=auth("lk_admin", **{"Idempotency-Key": "c-1"})).status_code == 403
    reply = gateway.post(path, headers=auth("lk_operator", **{"Idempotency-Key": "c-1"}))
    assert reply.status_code == 200 and reply.json()["purge_due_at"] == "2026-05-01T17:00:00+00:00"
    assert calls["cancel_shop"]["shop_id"] == SHOP


def test_answer_retention_is_checked_at_the_edge(gateway):
    path = f"/shops/{SHOP}/answer-retention"
    assert gateway.put(path, json={"days": 30}, headers=auth("lk_admin")).json() == {"shop_id": SHOP, "days": 30}
    assert gateway.put(path, json={"days": None}, headers=auth("lk_admin")).json()["days"] is None
    for bad in ({"days": 0}, {"days": "30"}, {}):
        reply = gateway.put(path, json=bad, headers=auth("lk_admin"))
        assert reply.status_code == 422 and "days" in reply.json()["error"]["fields"]


def test_an_operator_runs_the_retention_job_as_of_a_time(gateway):
    reply = gateway.post("/retention-runs", json={"as_of": "2026-05-03T00:00:00+07:00"}, headers=auth("lk_operator"))
    assert reply.status_code == 200 and reply.json() == {"answers_deleted": 3, "shops_purged": [SHOP]}
    assert calls["run_retention"] == {"as_of": "2026-05-03T00:00:00+07:00"}
    bad = gateway.post("/retention-runs", json={"as_of": "2026-05-03"}, headers=auth("lk_operator"))
    assert bad.status_code == 422 and "as_of" in bad.json()["error"]["fields"]
