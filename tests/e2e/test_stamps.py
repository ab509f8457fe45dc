"""A stamp card through the gateway: the admin designs and activates it, staff make one-time stamp
QR codes, the signed-in member scans them; the filled card's ticket becomes a coupon in rewards."""
from .conftest import auth, eventually
from .test_member_signin import sign_in


def test_a_member_fills_a_card_and_its_ticket_arrives_as_a_coupon(api, stack, shop):
    base = f"/shops/{shop['shop_id']}"
    admin, staff = shop["admin"], shop["staff"]
    assert api.put(f"{base}/notifications/channels", headers=auth(admin, False), json={
        "shop_name": "Stamp Cafe", "sms_enabled": True, "sms_provider": "thaibulksms", "sms_sender": "CAFE",
        "sms_credentials": {"api_key": "k", "api_secret": "s"}}).status_code == 200
    reward = api.post(f"{base}/rewards", headers=auth(admin, False),
                      json={"kind": "in_store", "name": "Free coffee", "points_cost": 1000, "coupon_days": 30}).json()
    card = api.post(f"{base}/stamp-cards", headers=auth(admin), json={
        "name": "Coffee card", "stamps_to_fill": 3, "rule": {"mode": "per_visit", "stamps": 1},
        "tickets": [{"at": 3, "reward_id": reward["reward_id"]}]})
    assert card.status_code == 201, card.text
    card_url = f"{base}/stamp-cards/{card.json()['card_id']}"
    assert api.post(f"{card_url}/activate", headers=auth(admin, False), json={}).status_code == 200
    edit = api.patch(card_url, headers=auth(admin, False), json={"stamps_to_fill": 5})
    assert edit.status_code == 409, edit.text  # an active card's terms are fixed

    token = sign_in(api, stack, shop, "0865550077", "66865550077")
    for _ in range(3):
        qr = api.post(f"{base}/stamp-qr", headers=auth(staff), json={})
        assert qr.status_code == 201, qr.text
        scan = api.post(f"{base}/me/stamps/scans", headers=auth(token), json={"token": qr.json()["token"]})
        assert scan.status_code == 201, scan.text
    stamps = api.get(f"{base}/me/stamps", headers=auth(token, False)).json()
    assert len(stamps["tickets"]) == 1, stamps

    def coupon():
        coupons = api.get(f"{base}/me/coupons", headers=auth(token, False)).json()["coupons"]
        return coupons if coupons else None

    [issued] = eventually(coupon)
    assert issued["name"] == "Free coffee" and issued["points_cost"] == 0
