"""Registration with consent, claims of phone-only members, profiles and their history, tags,
questions and search: through RPC, against PostgreSQL, with the events in the outbox."""
import uuid

import pytest
from nameko.exceptions import RemoteError

from chassis import errors

from .conftest import key

STAFF = {"type": "staff", "id": "s-1"}


@pytest.fixture
def consented(members, shop):
    shop_id = shop["shop"]["shop_id"]
    members.publish_consent_text({"shop_id": shop_id, "version": "2026-01", "terms": "Terms", "privacy": "Privacy"})
    return shop_id


def register(members, shop_id, phone="0812345678", **extra):
    body = {"idempotency_key": key(), "shop_id": shop_id, "phone": phone, "consent": True,
            "consent_version": "2026-01", "actor": STAFF, **extra}
    return members.register(body)


def events(db, event_type):
    return [row["data"] for row in db.execute(
        "SELECT envelope->'data' AS data FROM outbox WHERE envelope->>'type' = %s ORDER BY id",
        (event_type,)).fetchall()]


def test_a_member_registers_with_consent_and_the_event_says_so(members, consented, db):
    member = register(members, consented, name="Somchai", gender="male", birthday="1990-04-01",
                      email="somchai@example.com", address="Bangkok", line_user_id="U" + "a" * 32)
    assert member["status"] == "registered" and member["phone"] == "+66812345678"
    assert member["consent_version"] == "2026-01" and member["consented_at"] is not None
    assert member["birthday"] == "1990-04-01" and member["registered_via"] == "staff"
    [registered] = events(db, "members.registered")
    assert registered["member_id"] == member["member_id"] and registered["claimed"] is False
    assert "birthday" not in registered and "address" not in registered


def test_registration_without_consent_is_refused_and_writes_nothing(members, consented, db):
    with pytest.raises(errors.InvalidInput) as caught:
        register(members, consented, consent=False)
    assert "consent" in caught.value.fields
    assert db.execute("SELECT count(*) FROM members").fetchone()["count"] == 0


@pytest.mark.parametrize("field,value", [
    ("phone", "12345"), ("birthday", "1990-02-30"), ("birthday", "2999-01-01"), ("email", "not-an-email"),
    ("gender", "robot"), ("line_user_id", "not-a-line-id"), ("name", " "),
])
def test_bad_fields_are_named(members, consented, field, value):
    with pytest.raises(errors.InvalidInput) as caught:
        register(members, consented, **{field: value})
    assert field in caught.value.fields


def test_an_outdated_consent_version_and_a_shop_without_texts_are_refused(members, shop):
    shop_id = shop["shop"]["shop_id"]
    with pytest.raises(errors.Conflict) as caught:
        register(members, shop_id)
    assert caught.value.code == "consent_text_missing"
    members.publish_consent_text({"shop_id": shop_id, "version": "2026-02", "terms": "T", "privacy": "P"})
    with pytest.raises(errors.InvalidInput) as caught:
        register(members, shop_id)
    assert caught.value.code == "consent_outdated" and "consent_version" in caught.value.fields


def test_a_consent_version_cannot_be_rewritten(members, consented):
    again = members.publish_consent_text({"shop_id": consented, "version": "2026-01", "terms": "Terms",
                                          "privacy": "Privacy"})
    assert again["version"] == "2026-01"
    with pytest.raises(errors.Conflict) as caught:
        members.publish_consent_text({"shop_id": consented, "version": "2026-01", "terms": "Other",
                                      "privacy": "Privacy"})
    assert caught.value.code == "consent_version_exists"


def test_registering_a_phone_only_member_claims_it_and_a_registered_phone_is_409(members, consented, db):
    phone_only = uuid.uuid4()
    db.execute("INSERT INTO members (member_id, shop_id, phone, lifetime_points, points_balance) "
               "VALUES (%s, %s, '+66812345678', 120, 80)", (phone_only, consented))
    member = register(members, consented, phone="081-234-5678", name="Malee")
    assert member["member_id"] == str(phone_only) and member["points_balance"] == 80
    assert events(db, "members.registered")[0]["claimed"] is True
    with pytest.raises(errors.Conflict) as caught:
        register(members, consented, phone="+66812345678")
    assert caught.value.code == "already_registered" and "phone" in caught.value.fields


def test_a_replay_returns_the_first_answer_and_another_body_is_409(members, consented, db):
    body = {"idempotency_key": "reg-1", "shop_id": consented, "phone": "0812345678", "consent": True,
            "consent_version": "2026-01", "actor": STAFF, "name": "A"}
    first = members.register(body)
    again = members.register(body)
    assert again["member_id"] == first["member_id"] and again["replayed"] is True
    with pytest.raises(errors.Conflict) as caught:
        members.register({**body, "name": "B"})
    assert caught.value.code == "idempotency_key_reused"
    assert len(events(db, "members.registered")) == 1


def test_questions_answers_add_tags_and_required_questions_are_enforced(members, consented, db):
    coffee = members.save_question({"shop_id": consented, "kind": "single", "prompt": "Coffee or tea?",
                                    "required": True, "choices": [
                                        {"value": "coffee", "label": "Coffee", "tag": "coffee-lover"},
                                        {"value": "tea", "label": "Tea"}]})
    topics = members.save_question({"shop_id": consented, "kind": "multiple", "prompt": "Interests", "choices": [
        {"value": "promo", "label": "Promotions", "tag": "promo"}, {"value": "news", "label": "News", "tag": "news"}]})
    note = members.save_question({"shop_id": consented, "kind": "text", "prompt": "Anything else?"})
    assert [q["position"] for q in members.list_questions({"shop_id": consented})["questions"]] == [1, 2, 3]
    with pytest.raises(errors.InvalidInput) as caught:
        register(members, consented, answers=[])
    assert caught.value.code == "invalid_answers" and "answers" in caught.value.fields
    with pytest.raises(errors.InvalidInput) as caught:
        register(members, consented, answers=[{"question_id": coffee["question_id"], "value": "beer"}])
    assert "answers.0" in caught.value.fields
    member = register(members, consented, tags=["vip"], answers=[
        {"question_id": coffee["question_id"], "value": "coffee"},
        {"question_id": topics["question_id"], "values": ["promo", "news"]},
        {"question_id": note["question_id"], "value": "no sugar"}])
    assert member["tags"] == ["coffee-lover", "news", "promo", "vip"]
    assert {a["prompt"] for a in member["answers"]} == {"Coffee or tea?", "Interests", "Anything else?"}
    [tagged] = events(db, "members.tagged")
    assert tagged["added"] == ["coffee-lover", "news", "promo", "vip"]


def test_a_choice_question_needs_choices(members, consented):
    with pytest.raises(errors.InvalidInput) as caught:
        members.save_question({"shop_id": consented, "kind": "single", "prompt": "?", "choices": []})
    assert "choices" in caught.value.fields


def test_profile_updates_keep_their_history_and_publish_only_real_changes(members, consented, db):
    member = register(members, consented, name="Somchai")
    ref = {"shop_id": consented, "member_id": member["member_id"]}
    changed = members.update_profile({**ref, "name": "Somchai J.", "email": "s@example.com",
                                      "actor": {"type": "admin", "id": "k-1"}})
    assert changed["name"] == "Somchai J." and changed["changed"] == ["email", "name"]
    same = members.update_profile({**ref, "name": "Somchai J.", "actor": STAFF})
    assert same["changed"] == []
    history = members.member_history(ref)["changes"]
    assert [h["kind"] for h in history] == ["updated", "registered"]
    assert history[0]["changes"]["name"] == ["Somchai", "Somchai J."]
    assert history[0]["actor"] == {"type": "admin", "id": "k-1"}
    [updated] = events(db, "members.updated")
    assert updated["changed"] == ["email", "name"] and "email" not in {k for k in updated if k != "changed"}


def test_a_phone_cannot_be_changed_by_a_profile_update_and_an_empty_update_is_refused(members, consented):
    member = register(members, consented)
    ref = {"shop_id": consented, "member_id": member["member_id"], "actor": STAFF}
    with pytest.raises(errors.InvalidInput) as caught:
        members.update_profile({**ref, "phone": "0899999999"})
    assert "phone" in caught.value.fields
    with pytest.raises(errors.InvalidInput):
        members.update_profile(ref)


def test_a_line_account_links_to_one_member_of_a_shop(members, consented):
    line = "U" + "b" * 32
    register(members, consented, phone="0811111111", line_user_id=line)
    with pytest.raises(errors.Conflict) as caught:
        register(members, consented, phone="0822222222", line_user_id=line)
    assert caught.value.code == "line_user_taken"


def test_tags_are_a_set_and_each_change_is_an_event(members, consented, db):
    member = register(members, consented)
    ref = {"shop_id": consented, "member_id": member["member_id"], "actor": STAFF}
    assert members.add_tags({**ref, "tags": ["vip", "coffee"]})["tags"] == ["coffee", "vip"]
    assert members.add_tags({**ref, "tags": ["vip"]})["changed"] == []
    assert members.remove_tags({**ref, "tags": ["vip", "absent"]})["changed"] == ["vip"]
    assert [(e["added"], e["removed"]) for e in events(db, "members.tagged")] == [(["coffee", "vip"], []),
                                                                                 ([], ["vip"])]
    with pytest.raises(errors.InvalidInput) as caught:
        members.add_tags({**ref, "tags": ["a,b"]})
    assert "tags.0" in caught.value.fields


def test_search_by_phone_digits_name_tag_and_status(members, consented, db):
    register(members, consented, phone="0811115678", name="Somchai", tags=["vip"])
    register(members, consented, phone="0822225678", name="Somsak")
    register(members, consented, phone="0833330000", name="Malee")
    db.execute("INSERT INTO members (member_id, shop_id, phone) VALUES (%s, %s, '+66844445678')",
               (uuid.uuid4(), consented))

    def phones(**filters):
        found = members.search_members({"shop_id": consented, **filters})["members"]
        return sorted(m["phone"] for m in found)

    assert phones(phone="5678") == ["+66811115678", "+66822225678", "+66844445678"]
    assert phones(phone="081-111-5678") == ["+66811115678"]
    assert phones(name="som") == ["+66811115678", "+66822225678"]
    assert phones(tag="vip") == ["+66811115678"]
    assert phones(status="phone_only") == ["+66844445678"]
    assert phones(name="som", phone="5678", tag="vip") == ["+66811115678"]
    page = members.search_members({"shop_id": consented, "limit": 2})
    rest = members.search_members({"shop_id": consented, "limit": 2, "after": page["next_after"]})
    assert len({m["member_id"] for m in page["members"] + rest["members"]}) == 4


def test_unknown_member_is_404(members, consented):
    with pytest.raises(errors.NotFound):
        members.get_member({"shop_id": consented, "member_id": str(uuid.uuid4())})


def test_remote_errors_never_leak(members, consented):
    # a malformed request is invalid_input, never a crash of the service
    with pytest.raises(errors.InvalidInput):
        members.register({"shop_id": "nope"})
    with pytest.raises((errors.InvalidInput, RemoteError)):
        members.search_members({"shop_id": consented, "limit": 0})
