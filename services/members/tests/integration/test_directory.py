import uuid

import pytest

from chassis import errors

from .conftest import key


def test_creating_a_shop_returns_its_admin_key_and_publishes_events(members, shop, db):
    assert shop["shop"]["timezone"] == "Asia/Bangkok" and shop["admin_api_key"].startswith("lk_")
    principal = members.authenticate({"api_key": shop["admin_api_key"]})
    assert principal == {"key_id": shop["admin_key_id"], "role": "shop_admin",
                         "shop_id": shop["shop"]["shop_id"], "branch_id": None, "staff_id": None}
    types = [r["routing_key"] for r in db.execute("SELECT routing_key FROM outbox ORDER BY id")]
    assert types == ["shop_created.v1", "api_key_issued.v1"]
    issued = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'api_key_issued.v1'").fetchone()
    assert shop["admin_api_key"] not in str(issued["envelope"])


def test_a_replayed_shop_creation_returns_the_same_shop_and_key(members, db):
    body = {"idempotency_key": key(), "name": "Once"}
    first = members.create_shop(body)
    again = members.create_shop(body)
    assert again["replayed"] is True and again["shop"] == first["shop"]
    assert again["admin_api_key"] == first["admin_api_key"]
    assert db.execute("SELECT count(*) AS n FROM shops").fetchone()["n"] == 1
    with pytest.raises(errors.Conflict):
        members.create_shop({**body, "name": "Twice"})


def test_staff_of_a_branch_act_for_that_branch(members, shop):
    shop_id = shop["shop"]["shop_id"]
    branch = members.create_branch({"idempotency_key": key(), "shop_id": shop_id, "name": "Siam"})
    staff = members.create_staff({"idempotency_key": key(), "shop_id": shop_id, "name": "Nok",
                                  "branch_id": branch["branch_id"]})
    principal = members.authenticate({"api_key": staff["api_key"]})
    assert (principal["role"], principal["shop_id"], principal["branch_id"]) == (
        "branch_staff", shop_id, branch["branch_id"])
    manager = members.create_staff({"idempotency_key": key(), "shop_id": shop_id, "name": "Manager"})
    assert members.authenticate({"api_key": manager["api_key"]})["branch_id"] is None


def test_branch_names_are_unique_in_a_shop(members, shop):
    shop_id = shop["shop"]["shop_id"]
    members.create_branch({"idempotency_key": key(), "shop_id": shop_id, "name": "Siam"})
    with pytest.raises(errors.Conflict) as caught:
        members.create_branch({"idempotency_key": key(), "shop_id": shop_id, "name": "Siam"})
    assert caught.value.code == "branch_name_taken"


def test_unknown_shop_and_branch_are_not_found(members, shop):
    with pytest.raises(errors.NotFound) as caught:
        members.create_branch({"idempotency_key": key(), "shop_id": str(uuid.uuid4()), "name": "X"})
    assert caught.value.code == "shop_not_found"
    with pytest.raises(errors.NotFound) as caught:
        members.create_staff({"idempotency_key": key(), "shop_id": shop["shop"]["shop_id"], "name": "Nok",
                              "branch_id": str(uuid.uuid4())})
    assert caught.value.code == "branch_not_found"
    with pytest.raises(errors.NotFound):
        members.get_branch({"shop_id": shop["shop"]["shop_id"], "branch_id": str(uuid.uuid4())})


def test_an_unknown_key_is_refused(members):
    with pytest.raises(errors.Unauthorized) as caught:
        members.authenticate({"api_key": "lk_made_up"})
    assert caught.value.code == "invalid_api_key"


def test_internal_system_keys_can_be_issued_but_operator_keys_cannot(members, shop):
    shop_id = shop["shop"]["shop_id"]
    issued = members.create_api_key({"idempotency_key": key(), "shop_id": shop_id, "role": "internal_system",
                                     "label": "marketplace"})
    assert members.authenticate({"api_key": issued["api_key"]})["role"] == "internal_system"
    with pytest.raises(errors.InvalidInput) as caught:
        members.create_api_key({"idempotency_key": key(), "shop_id": shop_id, "role": "platform_operator"})
    assert "role" in caught.value.fields
