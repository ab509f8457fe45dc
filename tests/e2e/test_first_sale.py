"""The first business flow through the gateway: shop, branch, staff, a sale, the member."""
import uuid

import httpx

from .conftest import auth, eventually, launcher


def member_view(api, shop, phone):
    reply = api.get(f"/shops/{shop['shop_id']}/members/by-phone/{phone}", headers=auth(shop["staff"], False))
    return reply


def test_a_sale_at_the_counter_credits_points_and_makes_a_phone_only_member(api, shop):
    sale = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"]),
                    json={"phone": "081-234-5678", "amount": "125.50", "receipt_no": "R-0001"})
    assert sale.status_code == 201, sale.text
    body = sale.json()
    assert (body["points"], body["balance"], body["phone"], body["branch_id"]) == (
        5, 5, "+66812345678", shop["branch_id"])

    def recorded():
        view = member_view(api, shop, "0812345678").json()
        return view if view["member"] else None

    view = eventually(recorded)
    assert view["points"] == {"balance": 5}
    assert view["member"]["status"] == "phone_only"
    assert (view["member"]["lifetime_points"], view["member"]["sales_count"], view["member"]["spend"]) == (
        5, 1, "125.50")


def test_a_replay_returns_the_first_result_and_earns_once(api, shop):
    key = str(uuid.uuid4())
    body = {"phone": "0899999999", "amount": "100", "receipt_no": "R-77"}
    first = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"], key), json=body)
    again = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"], key), json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"], key),
                     json={**body, "amount": "200"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    duplicate = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"]), json=body)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_receipt"
    assert member_view(api, shop, "0899999999").json()["points"]["balance"] == 4


def test_bad_inputs_get_clear_errors(api, shop, operator_key):
    url = f"/shops/{shop['shop_id']}/sales"
    staff = shop["staff"]

    def error(reply, status, code):
        assert reply.status_code == status, reply.text
        assert reply.json()["error"]["code"] == code
        return reply.json()["error"]

    fields = error(api.post(url, headers=auth(staff), json={"phone": "081-234", "amount": "10"}),
                   422, "invalid_input")["fields"]
    assert fields == {"phone": ["not a valid phone number"]}
    fields = error(api.post(url, headers=auth(staff), json={"phone": "0812345678", "amount": "-10"}),
                   422, "invalid_input")["fields"]
    assert list(fields) == ["amount"]
    error(api.post(url, headers=auth(shop["admin"]),
                   json={"phone": "0812345678", "amount": "10", "branch_id": str(uuid.uuid4())}),
          404, "branch_not_found")
    error(api.post(url, json={"phone": "0812345678", "amount": "10"}), 401, "missing_api_key")
    error(api.post(url, headers=auth("lk_not_a_key"), json={"phone": "0812345678", "amount": "10"}),
          401, "invalid_api_key")
    other = api.post("/shops", headers=auth(operator_key), json={"name": "Other", "earn_rule": {
        "points": 1, "per_baht": "10"}}).json()
    error(api.post(f"/shops/{other['shop']['shop_id']}/sales", headers=auth(staff),
                   json={"phone": "0812345678", "amount": "10"}), 403, "wrong_shop")
    error(api.post(url, headers=auth(staff), content=b"{not json"), 400, "malformed_json")
    error(api.post(url, headers=auth(staff, False), json={"phone": "0812345678", "amount": "10"}),
          400, "idempotency_key_required")
    error(api.post(f"/shops/{uuid.uuid4()}/sales", headers=auth(operator_key),
                   json={"phone": "0812345678", "amount": "10"}), 403, "role_not_allowed")
    error(api.get(f"/shops/{shop['shop_id']}/members/by-phone/0800000000", headers=auth(staff, False)),
          404, "member_not_found")


def test_an_admin_and_an_internal_system_record_sales_at_a_named_branch(api, shop):
    internal = api.post(f"/shops/{shop['shop_id']}/api-keys", headers=auth(shop["admin"]),
                        json={"role": "internal_system", "label": "marketplace"}).json()["api_key"]
    for key in (shop["admin"], internal):
        reply = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(key),
                         json={"phone": "0811111111", "amount": "50", "branch_id": shop["branch_id"]})
        assert reply.status_code == 201, reply.text
    assert member_view(api, shop, "0811111111").json()["points"]["balance"] == 4


def test_a_request_id_follows_the_sale_through_every_service_log(api, shop, stack):
    request_id = f"e2e-{uuid.uuid4().hex}"
    reply = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"], **{"X-Request-ID": request_id}),
                     json={"phone": "0822222222", "amount": "30"})
    assert reply.status_code == 201 and reply.headers["X-Request-ID"] == request_id

    def logged_everywhere():
        """the request id in the gateway, points and members logs"""
        return all(request_id in (stack.log_dir / f"{name}.log").read_text(errors="replace")
                   for name in ("gateway", "points", "members"))

    eventually(logged_everywhere)


def test_every_service_serves_metrics_and_health(stack, api):
    for component in launcher.COMPONENTS:
        if component.name == "gateway":
            continue
        base = f"http://{stack.http_address(component)}"
        assert httpx.get(f"{base}/healthz").json()["database"] == "up"
        metrics = httpx.get(f"{base}/metrics").text
        assert f'loyalty_outbox_backlog{{service="{component.name}"}}' in metrics
    assert api.get("/healthz").json()["status"] == "up"
    assert "loyalty_http_responses_total" in api.get("/metrics").text


def test_nameko_queues_are_quorum_queues_on_a_quorum_vhost(stack):
    reply = httpx.get(f"http://127.0.0.1:15672/api/queues/{stack.vhost}/rpc-points", auth=("guest", "guest"))
    assert reply.json()["type"] == "quorum"
    reply = httpx.get(
        f"http://127.0.0.1:15672/api/queues/{stack.vhost}/evt-points-earned.v1--members.on_points_earned",
        auth=("guest", "guest"))
    assert reply.json()["type"] == "quorum"

