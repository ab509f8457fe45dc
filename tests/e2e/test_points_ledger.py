"""The points ledger through the gateway, all services running: voids, adjustments, history,
settings and expiry (run as of a date), orders from another system, statistics, QR codes.

Members scan QR codes from the member page, whose sign-in arrives with issue #4; until
then these tests claim through the points service's RPC on the running stack, which is
what that endpoint will call."""
import datetime
import subprocess
import sys
import urllib.parse
import uuid

from nameko.standalone.rpc import ClusterRpcProxy

from chassis import errors

from .conftest import ROOT, auth, eventually, launcher

POINTS = next(c for c in launcher.COMPONENTS if c.name == "points")


def sale(api, shop, phone="0861234567", amount="250", **extra):
    reply = api.post(f"/shops/{shop['shop_id']}/sales", headers=auth(shop["staff"]),
                     json={"phone": phone, "amount": amount, **extra})
    assert reply.status_code == 201, reply.text
    return reply.json()


def account(shop, phone):
    return f"/shops/{shop['shop_id']}/members/by-phone/{phone}/points"


def balance(api, shop, phone):
    reply = api.get(f"/shops/{shop['shop_id']}/members/by-phone/{phone}", headers=auth(shop["staff"], False))
    return reply.json()["points"]["balance"]


def test_a_sale_is_voided_once_and_the_history_shows_why(api, shop):
    earned = sale(api, shop)
    url = f"/shops/{shop['shop_id']}/sales/{earned['sale_id']}/void"
    void = api.post(url, headers=auth(shop["staff"]), json={"reason": "returned"})
    assert void.status_code == 201, void.text
    assert (void.json()["recovered"], void.json()["unrecovered"], void.json()["balance"]) == (10, 0, 0)
    again = api.post(url, headers=auth(shop["staff"]), json={"reason": "returned"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_voided"
    history = api.get(f"{account(shop, '0861234567')}/history", headers=auth(shop["staff"], False)).json()
    assert [(e["kind"], e["points"], e["reason"]) for e in history["entries"]] == [
        ("void", -10, "returned"), ("earn", 10, None)]
    missing = api.post(f"/shops/{shop['shop_id']}/sales/{uuid.uuid4()}/void", headers=auth(shop["staff"]),
                       json={"reason": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "sale_not_found"


def test_adjustments_need_a_reason_and_never_go_below_zero(api, shop):
    url = f"{account(shop, '0862222222')}/adjustments"
    up = api.post(url, headers=auth(shop["admin"]), json={"points": 30, "reason": "goodwill"})
    assert up.status_code == 201 and up.json()["balance"] == 30
    too_far = api.post(url, headers=auth(shop["admin"]), json={"points": -31, "reason": "correction"})
    assert too_far.status_code == 409 and too_far.json()["error"]["code"] == "insufficient_points"
    no_reason = api.post(url, headers=auth(shop["admin"]), json={"points": 5})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["fields"]
    zero = api.post(url, headers=auth(shop["admin"]), json={"points": 0, "reason": "x"})
    assert zero.status_code == 422 and "points" in zero.json()["error"]["fields"]
    staff = api.post(url, headers=auth(shop["staff"]), json={"points": 5, "reason": "x"})
    assert staff.status_code == 403


def test_history_pages_and_filters(api, shop):
    phone = "0863333333"
    for amount in ("25", "50", "75"):
        sale(api, shop, phone=phone, amount=amount)
    api.post(f"{account(shop, phone)}/adjustments", headers=auth(shop["admin"]), json={"points": 5, "reason": "x"})
    first = api.get(f"{account(shop, phone)}/history?limit=2", headers=auth(shop["staff"], False)).json()
    assert [e["kind"] for e in first["entries"]] == ["adjust", "earn"] and first["next_before"]
    rest = api.get(f"{account(shop, phone)}/history?limit=2&before={first['next_before']}",
                   headers=auth(shop["staff"], False)).json()
    assert [e["points"] for e in rest["entries"]] == [2, 1] and rest["next_before"] is None
    earns = api.get(f"{account(shop, phone)}/history?kind=earn&kind=void", headers=auth(shop["staff"], False))
    assert [e["kind"] for e in earns.json()["entries"]] == ["earn"] * 3
    bad = api.get(f"{account(shop, phone)}/history?kind=gift", headers=auth(shop["staff"], False))
    assert bad.status_code == 422 and "kind.0" in bad.json()["error"]["fields"]


def test_expiry_runs_as_of_a_date_and_every_service_hears_of_it(api, shop, stack):
    settings = api.put(f"/shops/{shop['shop_id']}/points/settings", headers=auth(shop["admin"], False),
                       json={"expiry": {"mode": "months", "months": 1}, "warn_days": 10})
    assert settings.status_code == 200 and settings.json()["expiry"] == {"mode": "months", "months": 1}
    phone = "0864444444"
    sale(api, shop, phone=phone, amount="250")
    lots = api.get(f"{account(shop, phone)}/lots", headers=auth(shop["staff"], False)).json()
    assert lots["balance"] == 10 and lots["lots"][0]["expires_at"]
    expiring = api.get(f"{account(shop, phone)}/expiring?days=40", headers=auth(shop["staff"], False)).json()
    assert expiring["total"] == 10
    as_of = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=45)).isoformat()
    run = subprocess.run([sys.executable, "-m", "points.jobs", "--config", str(POINTS.config), "expire",
                          "--as-of", as_of], env=stack.env(), cwd=ROOT, capture_output=True, text=True, check=True)
    assert '"points": 10' in run.stdout.splitlines()[-1]
    assert balance(api, shop, phone) == 0

    def members_heard():
        """the members service's copy of the balance followed points.expired"""
        with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=15) as rpc:
            member = rpc.members.get_member_by_phone({"shop_id": shop["shop_id"], "phone": phone})
        return member["points_balance"] == 0 and member["lifetime_points"] == 10

    eventually(members_heard)
    api.put(f"/shops/{shop['shop_id']}/points/settings", headers=auth(shop["admin"], False),
            json={"expiry": {"mode": "never"}})


def test_an_internal_system_records_an_order_once_and_refunds_it_in_parts(api, shop):
    key = api.post(f"/shops/{shop['shop_id']}/api-keys", headers=auth(shop["admin"]),
                   json={"role": "internal_system", "label": "marketplace"}).json()["api_key"]
    order = {"order_id": f"LAZ-{uuid.uuid4().hex[:8]}", "phone": "0865555555", "amount": "1000"}
    first = api.post(f"/shops/{shop['shop_id']}/orders", headers=auth(key), json=order)
    assert first.status_code == 201 and first.json()["points"] == 40
    again = api.post(f"/shops/{shop['shop_id']}/orders", headers=auth(key), json=order)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    changed = api.post(f"/shops/{shop['shop_id']}/orders", headers=auth(key), json={**order, "amount": "5"})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "order_already_recorded"
    refunds = f"/shops/{shop['shop_id']}/orders/{order['order_id']}/refunds"
    half = api.post(refunds, headers=auth(key), json={"refund_id": "r1", "amount": "500"})
    assert half.status_code == 201 and (half.json()["points_voided"], half.json()["balance"]) == (20, 20)
    over = api.post(refunds, headers=auth(key), json={"refund_id": "r2", "amount": "600"})
    assert over.status_code == 409 and over.json()["error"]["code"] == "refund_exceeds_order"
    staff = api.post(f"/shops/{shop['shop_id']}/orders", headers=auth(shop["staff"]), json=order)
    assert staff.status_code == 403


def test_statistics_by_shop_day(api, shop):
    sale(api, shop, phone="0866666666", amount="500")
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7))).date().isoformat()
    stats = api.get(f"/shops/{shop['shop_id']}/points/stats?since={today}&until={today}",
                    headers=auth(shop["admin"], False))
    assert stats.status_code == 200
    [day] = stats.json()["days"]
    assert day["day"] == today and day["issued"] >= 20 and day["outstanding"] is not None
    bad = api.get(f"/shops/{shop['shop_id']}/points/stats?since={today}&until=2000-01-01",
                  headers=auth(shop["admin"], False))
    assert bad.status_code == 422 and "until" in bad.json()["error"]["fields"]


def token_in(scan_url):
    """The token a QR code's scan URL carries (?t=...)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(scan_url).query)["t"][0]


def claim_rpc(stack, method, request):
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=15) as rpc:
        return getattr(rpc.points, method)(request)


def test_a_one_time_qr_is_shown_as_an_image_and_pays_its_member_once(api, shop, stack):
    created = api.post(f"/shops/{shop['shop_id']}/qr", headers=auth(shop["staff"]), json={"amount": "250"})
    assert created.status_code == 201, created.text
    qr = created.json()
    assert token_in(qr["scan_url"]) == qr["token"]
    png = api.get(qr["image_png"], headers=auth(shop["staff"], False))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    svg = api.get(qr["image_svg"], headers=auth(shop["staff"], False))
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    claimed = claim_rpc(stack, "claim_qr", {"shop_id": shop["shop_id"], "token": qr["token"], "phone": "0867777777"})
    assert claimed["points"] == 10 and balance(api, shop, "0867777777") == 10


def test_a_printed_qr_is_enabled_by_the_admin_and_limited_per_day(api, shop, stack):
    url = f"/shops/{shop['shop_id']}/branches/{shop['branch_id']}/printed-qr"
    printed = api.put(url, headers=auth(shop["admin"], False), json={"enabled": True, "points": 2, "daily_limit": 1})
    assert printed.status_code == 200, printed.text
    image = api.get(f"{url}/image?format=png", headers=auth(shop["admin"], False))
    assert image.content[:4] == b"\x89PNG"
    token = token_in(printed.json()["scan_url"])
    request = {"shop_id": shop["shop_id"], "token": token, "phone": "0868888888"}
    assert claim_rpc(stack, "claim_printed_qr", {**request, "idempotency_key": "scan-1"})["points"] == 2
    try:
        claim_rpc(stack, "claim_printed_qr", {**request, "idempotency_key": "scan-2"})
    except errors.Conflict as refused:
        assert refused.code == "daily_limit_reached"
    else:
        raise AssertionError("a second scan the same day gave points")


def test_bad_path_ids_are_not_found(api, shop):
    reply = api.post(f"/shops/{shop['shop_id']}/entries/not-a-number/void", headers=auth(shop["admin"]),
                     json={"reason": "x"})
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "entry_not_found"
