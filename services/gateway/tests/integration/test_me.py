"""The member's own routes through the gateway, with members, points and rewards played by
small nameko services: sign-in, member tokens, their shop and their data only."""
import uuid

import httpx
import pytest
from nameko.rpc import rpc
from nameko.testing.utils import find_free_port

from chassis import errors

SHOP_A = "11111111-1111-1111-1111-111111111111"
SHOP_B = "99999999-9999-9999-9999-999999999999"
MEMBER = "33333333-3333-3333-3333-333333333333"
PHONE = "+66812345678"
TOKEN = "mt_member-token-of-shop-a"
calls = []
revoked = set()


class FakeMembers:
    name = "members"

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate_member(self, request):
        calls.append(("authenticate_member", request))
        if request["token"] != TOKEN or TOKEN in revoked:
            raise errors.Unauthorized("invalid_member_token", "unknown, expired or revoked")
        return {"token_id": "44444444-4444-4444-4444-444444444444", "role": "member", "shop_id": SHOP_A,
                "member_id": MEMBER, "phone": PHONE}

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate(self, request):
        if request["api_key"] != "lk_staff":
            raise errors.Unauthorized("invalid_api_key", "unknown key")
        return {"key_id": "k1", "role": "branch_staff", "shop_id": SHOP_A, "branch_id": None, "staff_id": "s1"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def request_otp(self, request):
        calls.append(("request_otp", request))
        if request["phone"] == "+66899999999":
            raise errors.Conflict("otp_rate_limited", "at most 5 codes per phone every 60 minutes",
                                  {"phone": ["more than 5 codes in 60 minutes"]})
        return {"challenge_id": "55555555-5555-5555-5555-555555555555", "expires_at": "2026-01-01T00:05:00+00:00"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def verify_otp(self, request):
        calls.append(("verify_otp", request))
        return {"token": TOKEN, "token_id": "44444444-4444-4444-4444-444444444444", "method": "otp",
                "expires_at": "2026-02-01T00:00:00+00:00", "member": self.my_profile({})}

    @rpc(expected_exceptions=errors.EXPECTED)
    def my_profile(self, request):
        return {"member_id": MEMBER, "shop_id": SHOP_A, "phone": PHONE, "status": "phone_only", "line_linked": False,
                "points_balance": 7, "lifetime_points": 9, "created_at": "2026-01-01T00:00:00+00:00"}

    @rpc(expected_exceptions=errors.EXPECTED)
    def register(self, request):
        calls.append(("register", request))
        return {**self.my_profile({}), "status": "registered", "name": request["name"], "replayed": False}

    @rpc(expected_exceptions=errors.EXPECTED)
    def sign_out(self, request):
        calls.append(("sign_out", request))
        revoked.add(TOKEN)
        return {"revoked": 1}


class FakePoints:
    name = "points"

    @rpc(expected_exceptions=errors.EXPECTED)
    def balance(self, request):
        calls.append(("balance", request))
        return {"shop_id": request["shop_id"], "phone": request["phone"], "balance": 120, "balance_seq": 3}

    @rpc(expected_exceptions=errors.EXPECTED)
    def claim_qr(self, request):
        calls.append(("claim_qr", request))
        return {"sale_id": str(uuid.uuid4()), "branch_id": str(uuid.uuid4()), "points": 5, "balance": 125,
                "entry_id": 9, "replayed": False}


class FakeRewards:
    name = "rewards"

    @rpc(expected_exceptions=errors.EXPECTED)
    def redeem(self, request):
        calls.append(("redeem", request))
        return {"redemption_id": str(uuid.uuid4()), "state": "completed", "reward_id": request["reward_id"],
                "replayed": False}


@pytest.fixture
def gateway(container_factory, rabbit_config):
    from gateway.service import GatewayService

    calls.clear()
    revoked.clear()
    port = find_free_port()
    config = {"AMQP_URI": rabbit_config["AMQP_URI"], "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
              "RPC_TIMEOUT": 2, "LOG_LEVEL": "WARNING", "AUTH_CACHE_SECONDS": 60, "TRUSTED_PROXIES": 1}
    for cls in (GatewayService, FakeMembers, FakePoints, FakeRewards):
        container_factory(cls, config).start()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client


def bearer(token=TOKEN, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


def sent(name):
    return [request for called, request in calls if called == name]


def test_a_code_is_asked_for_with_the_callers_address_and_a_limit_is_a_429(gateway):
    reply = gateway.post(f"/shops/{SHOP_A}/me/otp", json={"phone": "081-234-5678"},
                         headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert reply.status_code == 202, reply.text
    assert sent("request_otp")[-1] == {"shop_id": SHOP_A, "phone": PHONE, "language": None,
                                       "client_ip": "203.0.113.9"}
    reply = gateway.post(f"/shops/{SHOP_A}/me/otp", json={"phone": "089-999-9999"})
    assert reply.status_code == 429 and reply.json()["error"]["code"] == "otp_rate_limited"
    reply = gateway.post(f"/shops/{SHOP_A}/me/otp", json={"phone": "12"})
    assert reply.status_code == 422 and "phone" in reply.json()["error"]["fields"]


def test_the_code_answers_a_member_token_that_opens_my_page(gateway):
    reply = gateway.post(f"/shops/{SHOP_A}/me/otp/verify",
                         json={"challenge_id": "55555555-5555-5555-5555-555555555555", "code": "123456"})
    assert reply.status_code == 200, reply.text
    token = reply.json()["token"]
    page = gateway.get(f"/shops/{SHOP_A}/me", headers=bearer(token))
    assert page.status_code == 200, page.text
    assert page.json()["points_balance"] == 120 and page.json()["phone"] == PHONE
    assert sent("balance")[-1] == {"shop_id": SHOP_A, "phone": PHONE}


def test_a_member_token_never_reaches_another_shop_or_staff_routes(gateway):
    reply = gateway.get(f"/shops/{SHOP_B}/me", headers=bearer())
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "wrong_shop"
    reply = gateway.post(f"/shops/{SHOP_B}/me/qr/claim", json={"token": "t"}, headers=bearer())
    assert reply.status_code == 403
    reply = gateway.post(f"/shops/{SHOP_A}/sales", json={"phone": PHONE, "amount": "10", "branch_id": None},
                         headers=bearer(**{"Idempotency-Key": "k"}))
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "role_not_allowed"
    reply = gateway.get(f"/shops/{SHOP_A}/me", headers=bearer("lk_staff"))
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "role_not_allowed"
    assert not sent("claim_qr")


def test_a_scan_is_claimed_for_the_tokens_own_phone(gateway):
    reply = gateway.post(f"/shops/{SHOP_A}/me/qr/claim", json={"token": "qr-token"}, headers=bearer())
    assert reply.status_code == 201, reply.text
    assert sent("claim_qr")[-1] == {"shop_id": SHOP_A, "token": "qr-token", "phone": PHONE}


def test_a_redemption_is_the_members_own_and_needs_an_idempotency_key(gateway):
    reward_id = str(uuid.uuid4())
    reply = gateway.post(f"/shops/{SHOP_A}/me/redemptions", json={"reward_id": reward_id}, headers=bearer())
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "idempotency_key_required"
    reply = gateway.post(f"/shops/{SHOP_A}/me/redemptions", json={"reward_id": reward_id},
                         headers=bearer(**{"Idempotency-Key": "r-1"}))
    assert reply.status_code == 201, reply.text
    request = sent("redeem")[-1]
    assert (request["phone"], request["actor"], request["idempotency_key"]) == (
        PHONE, {"type": "member", "id": MEMBER}, "r-1")
    assert request["fingerprint"]


def test_after_sign_out_the_token_is_refused_at_once(gateway):
    assert gateway.get(f"/shops/{SHOP_A}/me", headers=bearer()).status_code == 200
    reply = gateway.post(f"/shops/{SHOP_A}/me/sign-out", json={}, headers=bearer())
    assert reply.status_code == 200 and reply.json() == {"revoked": 1}
    assert sent("sign_out")[-1]["member_id"] == MEMBER and sent("sign_out")[-1]["all"] is False
    reply = gateway.get(f"/shops/{SHOP_A}/me", headers=bearer())
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_member_token"


def test_a_member_token_is_cached_like_an_api_key(gateway):
    for _ in range(3):
        assert gateway.get(f"/shops/{SHOP_A}/me", headers=bearer()).status_code == 200
    assert len(sent("authenticate_member")) == 1


def test_a_member_registers_their_own_phone(gateway):
    body = {"name": "Somchai", "birthday": "1990-02-03", "consent": True, "consent_version": "v1",
            "answers": [{"question_id": "66666666-6666-6666-6666-666666666666", "value": "coffee"}]}
    reply = gateway.post(f"/shops/{SHOP_A}/me/registration", json={**body, "phone": "+66899999999"},
                         headers=bearer(**{"Idempotency-Key": "reg-1"}))
    assert reply.status_code == 422 and "phone" in reply.json()["error"]["fields"]  # not theirs to choose
    reply = gateway.post(f"/shops/{SHOP_A}/me/registration", json=body, headers=bearer(**{"Idempotency-Key": "reg-1"}))
    assert reply.status_code == 201, reply.text
    request = sent("register")[-1]
    assert (request["phone"], request["actor"], request["birthday"], request["answers"][0]["question_id"]) == (
        PHONE, {"type": "member", "id": MEMBER}, "1990-02-03", "66666666-6666-6666-6666-666666666666")
