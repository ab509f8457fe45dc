"""Registration through the gateway: consent, the claim of a phone that earned first, welcome
points from the points service, profiles with history, tags, questions, search."""
import uuid

from .conftest import auth, eventually


def consent(api, shop, version="v1"):
    reply = api.put(f"/shops/{shop['shop_id']}/consent-text", headers=auth(shop["admin"], False),
                    json={"version": version, "terms": "ข้อกำหนด", "privacy": "นโยบายความเป็นส่วนตัว"})
    assert reply.status_code == 200, reply.text


def test_a_phone_that_earned_registers_claims_its_points_and_gets_welcome_points(api, shop):
    base = f"/shops/{shop['shop_id']}"
    reply = api.put(f"{base}/points/settings", headers=auth(shop["admin"], False),
                    json={"expiry": {"mode": "never"}, "welcome_points": 20})
    assert reply.status_code == 200, reply.text
    consent(api, shop)
    question = api.post(f"{base}/questions", headers=auth(shop["admin"], False), json={
        "kind": "single", "prompt": "กาแฟหรือชา?", "required": True,
        "choices": [{"value": "coffee", "label": "กาแฟ", "tag": "coffee"}, {"value": "tea", "label": "ชา"}]})
    assert question.status_code == 201, question.text
    sale = api.post(f"{base}/sales", headers=auth(shop["staff"]),
                    json={"phone": "0861234567", "amount": "250", "receipt_no": "R-1"})
    assert sale.status_code == 201, sale.text
    eventually(lambda: api.get(f"{base}/members", params={"phone": "4567"},
                               headers=auth(shop["staff"], False)).json()["members"])

    body = {"phone": "086-123-4567", "name": "Malee", "birthday": "1995-02-14", "consent": True,
            "consent_version": "v1", "answers": [{"question_id": question.json()["question_id"], "value": "coffee"}]}
    without_consent = api.post(f"{base}/members", headers=auth(shop["staff"]), json={**body, "consent": False})
    assert without_consent.status_code == 422 and "consent" in without_consent.json()["error"]["fields"]
    registered = api.post(f"{base}/members", headers=auth(shop["staff"]), json=body)
    assert registered.status_code == 201, registered.text
    member = registered.json()
    assert member["status"] == "registered" and member["tags"] == ["coffee"] and member["sales_count"] == 1
    again = api.post(f"{base}/members", headers=auth(shop["staff"]), json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_registered"

    def welcomed():
        view = api.get(f"{base}/members/by-phone/0861234567", headers=auth(shop["staff"], False)).json()
        return view["points"]["balance"] == 10 + 20
    eventually(welcomed)

    url = f"{base}/members/{member['member_id']}"
    changed = api.patch(url, headers=auth(shop["admin"], False), json={"email": "malee@example.com"})
    assert changed.status_code == 200 and changed.json()["changed"] == ["email"]
    tagged = api.post(f"{url}/tags", headers=auth(shop["staff"], False), json={"tags": ["vip"]})
    assert tagged.json()["tags"] == ["coffee", "vip"]
    history = api.get(f"{url}/history", headers=auth(shop["admin"], False)).json()["changes"]
    assert [h["kind"] for h in history] == ["tagged", "updated", "registered"]
    found = api.get(f"{base}/members", params={"tag": "vip", "name": "mal"}, headers=auth(shop["staff"], False))
    assert [m["member_id"] for m in found.json()["members"]] == [member["member_id"]]


def test_bad_registrations_name_the_field(api, shop):
    consent(api, shop)
    base = f"/shops/{shop['shop_id']}"
    good = {"phone": "0812345678", "consent": True, "consent_version": "v1"}
    for field, value in [("phone", "123"), ("birthday", "31/02/1990"), ("email", "x@"), ("gender", "x")]:
        reply = api.post(f"{base}/members", headers=auth(shop["staff"]), json={**good, field: value})
        assert reply.status_code == 422 and field in reply.json()["error"]["fields"], (field, reply.text)
    outdated = api.post(f"{base}/members", headers=auth(shop["staff"]), json={**good, "consent_version": "v0"})
    assert outdated.status_code == 422 and outdated.json()["error"]["code"] == "consent_outdated"
    unknown = api.get(f"{base}/members/{uuid.uuid4()}", headers=auth(shop["staff"], False))
    assert unknown.status_code == 404
