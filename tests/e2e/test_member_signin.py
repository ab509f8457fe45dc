"""A member acts for themself: a code by SMS (through the notifier to the fake provider) gives a
member token; with it they register, scan a one-time QR, redeem, and never reach another shop."""
import re

import httpx

from .conftest import auth, eventually


def sms_to(stack, number):
    got = [r for r in httpx.get(f"{stack.fakes_url}/_received", timeout=5).json()
           if r.get("channel") == "sms" and r.get("to") == number]
    return got


def sign_in(api, stack, shop, phone, number):
    base = f"/shops/{shop['shop_id']}"
    before = len(sms_to(stack, number))
    sent = api.post(f"{base}/me/otp", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    sms = eventually(lambda: sms_to(stack, number)[before:])
    code = re.search(r"\b(\d{6})\b", sms[-1]["text"]).group(1)
    signed = api.post(f"{base}/me/otp/verify", json={"challenge_id": sent.json()["challenge_id"], "code": code})
    assert signed.status_code == 200, signed.text
    return signed.json()["token"]


def test_a_member_signs_in_by_sms_registers_scans_a_qr_and_redeems(api, stack, shop, operator_key):
    base = f"/shops/{shop['shop_id']}"
    admin = shop["admin"]
    assert api.put(f"{base}/notifications/channels", headers=auth(admin, False), json={
        "shop_name": "Member Cafe", "sms_enabled": True, "sms_provider": "thaibulksms", "sms_sender": "CAFE",
        "sms_credentials": {"api_key": "k", "api_secret": "s"}}).status_code == 200
    assert api.put(f"{base}/consent-text", headers=auth(admin, False),
                   json={"version": "v1", "terms": "T", "privacy": "P"}).status_code == 200
    token = sign_in(api, stack, shop, "0865550001", "66865550001")
    me = api.get(f"{base}/me", headers=auth(token, False))
    assert me.status_code == 200 and me.json()["phone"] == "+66865550001"

    registered = api.post(f"{base}/me/registration", headers=auth(token),
                          json={"name": "Ploy", "consent": True, "consent_version": "v1"})
    assert registered.status_code == 201, registered.text
    assert registered.json()["status"] == "registered" and registered.json()["registered_via"] == "member"

    qr = api.post(f"{base}/qr", headers=auth(shop["staff"]), json={"amount": "250"})
    assert qr.status_code == 201, qr.text
    claimed = api.post(f"{base}/me/qr/claim", headers=auth(token), json={"token": qr.json()["token"]})
    assert claimed.status_code == 201 and claimed.json()["points"] == 10, claimed.text
    again = api.post(f"{base}/me/qr/claim", headers=auth(token), json={"token": qr.json()["token"]})
    assert again.json() == claimed.json()  # the same member scanning again: the same earn, not a second one

    reward = api.post(f"{base}/rewards", headers=auth(admin, False),
                      json={"kind": "in_store", "name": "Cookie", "points_cost": 5, "coupon_days": 7}).json()
    redeemed = api.post(f"{base}/me/redemptions", headers=auth(token, "redeem-cookie"),
                        json={"reward_id": reward["reward_id"]})
    assert redeemed.status_code == 201, redeemed.text
    # another member sending the same key and body gets no replay of this member's coupon
    stranger = sign_in(api, stack, shop, "0865550002", "66865550002")
    theirs = api.post(f"{base}/me/redemptions", headers=auth(stranger, "redeem-cookie"),
                      json={"reward_id": reward["reward_id"]})
    assert theirs.status_code == 409 and theirs.json()["error"]["code"] == "idempotency_key_reused", theirs.text
    coupons = api.get(f"{base}/me/coupons", headers=auth(token, False)).json()["coupons"]
    assert [c["name"] for c in coupons] == ["Cookie"]

    # a member token is not a key of any other shop, nor of staff routes of its own
    other = api.post("/shops", headers=auth(operator_key), json={"name": "Other", "earn_rule": {"points": 1,
                                                                                               "per_baht": "25"}})
    other_id = other.json()["shop"]["shop_id"]
    assert api.get(f"/shops/{other_id}/me", headers=auth(token, False)).status_code == 403
    assert api.get(f"{base}/members", headers=auth(token, False)).status_code == 403

    out = api.post(f"{base}/me/sign-out", headers=auth(token, False), json={})
    assert out.status_code == 200, out.text
    assert api.get(f"{base}/me", headers=auth(token, False)).status_code == 401


def test_an_admins_sign_out_stops_a_cached_member_token_at_once(api, stack, shop):
    """The gateway caches a token's identity for AUTH_CACHE_SECONDS (10 s); members' signed_out
    event reaches every gateway replica (a broadcast queue each) and evicts it well before."""
    import time

    base = f"/shops/{shop['shop_id']}"
    assert api.put(f"{base}/notifications/channels", headers=auth(shop["admin"], False), json={
        "shop_name": "Cafe", "sms_enabled": True, "sms_provider": "thaibulksms", "sms_sender": "CAFE",
        "sms_credentials": {"api_key": "k", "api_secret": "s"}}).status_code == 200
    token = sign_in(api, stack, shop, "0865550099", "66865550099")
    me = api.get(f"{base}/me", headers=auth(token, False))
    assert me.status_code == 200  # now cached by the gateway
    started = time.monotonic()
    out = api.post(f"{base}/members/{me.json()['member_id']}/sign-out", headers=auth(shop["admin"], False))
    assert out.status_code == 200 and out.json()["revoked"] == 1, out.text
    eventually(lambda: api.get(f"{base}/me", headers=auth(token, False)).status_code == 401, timeout=8)
    assert time.monotonic() - started < 8  # less than the cache's 10 s
