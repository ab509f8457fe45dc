"""Messages that follow from what happens in other services, through the real notifier,
to the local fake LINE and SMS providers the stack points it at."""
import httpx

from .conftest import auth, eventually

LINE_USER = "U" + "0123456789abcdef" * 2


def received(stack):
    return httpx.get(f"{stack.fakes_url}/_received", timeout=5).json()


def test_a_sale_and_a_redemption_reach_the_member_on_line_and_by_sms(api, shop, stack):
    base = f"/shops/{shop['shop_id']}"
    reply = api.put(f"{base}/notifications/channels", headers=auth(shop["admin"], False), json={
        "shop_name": "E2E Cafe", "line_token": "token-e2e-0123456789", "sms_enabled": True,
        "sms_provider": "thaibulksms", "sms_sender": "E2ECAFE", "sms_credentials": {"api_key": "k", "api_secret": "s"}})
    assert reply.status_code == 200, reply.text
    assert "line_token" not in reply.json() and reply.json()["line_linked"] is True
    reply = api.put(f"{base}/members/by-phone/0867770001/contact", headers=auth(shop["admin"], False),
                    json={"name": "Nok", "line_user_id": LINE_USER, "language": "en"})
    assert reply.status_code == 200, reply.text

    sale = api.post(f"{base}/sales", headers=auth(shop["staff"]), json={"phone": "0867770001", "amount": "250"})
    assert sale.status_code == 201, sale.text
    api.post(f"{base}/sales", headers=auth(shop["staff"]), json={"phone": "0867770002", "amount": "100"})

    def line_and_sms():
        got = [r for r in received(stack) if r.get("to") in (LINE_USER, "66867770002")]
        return got if len(got) == 2 else None

    got = eventually(line_and_sms, timeout=30)
    by_channel = {r["channel"]: r for r in got}
    assert "E2E Cafe: you earned 10 points" in by_channel["line_push"]["texts"][0]
    assert "คะแนน" in by_channel["sms"]["text"]  # Thai by default

    reward = api.post(f"{base}/rewards", headers=auth(shop["admin"], False),
                      json={"kind": "in_store", "name": "Latte", "points_cost": 10, "coupon_days": 7}).json()
    redeemed = api.post(f"{base}/members/by-phone/0867770001/redemptions", headers=auth(shop["staff"]),
                        json={"reward_id": reward["reward_id"]})
    assert redeemed.status_code == 201, redeemed.text
    code = redeemed.json()["coupon"]["code"]
    eventually(lambda: any(code in t for r in received(stack) if r.get("to") == LINE_USER for t in r["texts"]),
               timeout=30)
    log = api.get(f"{base}/notifications/messages?phone=0867770001", headers=auth(shop["admin"], False)).json()
    triggers = sorted(m["trigger"] for m in log["messages"] if m["status"] == "sent")
    assert triggers == ["coupon_received", "points_earned"]


def test_bad_channel_settings_name_the_field(api, shop):
    reply = api.put(f"/shops/{shop['shop_id']}/notifications/channels", headers=auth(shop["admin"], False),
                    json={"sms_enabled": True, "sms_provider": "webhook", "sms_credentials": {"url": "not a url"}})
    assert reply.status_code == 422
    assert any(field.startswith("sms_credentials") for field in reply.json()["error"]["fields"])
