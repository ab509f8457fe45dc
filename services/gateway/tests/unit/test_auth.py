import pytest

from chassis import errors
from gateway import auth
from gateway.auth import Principal

SHOP = "11111111-1111-1111-1111-111111111111"
BRANCH = "22222222-2222-2222-2222-222222222222"
admin = Principal("k1", auth.ADMIN, SHOP)
staff = Principal("k2", auth.STAFF, SHOP, BRANCH, "s1")
manager = Principal("k3", auth.STAFF, SHOP, None, "s2")
operator = Principal("k4", auth.OPERATOR)
internal = Principal("k5", auth.INTERNAL, SHOP)


def test_the_key_comes_from_the_bearer_header_or_x_api_key():
    assert auth.api_key_from({"Authorization": "Bearer lk_abc"}) == "lk_abc"
    assert auth.api_key_from({"Authorization": "bearer  lk_abc "}) == "lk_abc"
    assert auth.api_key_from({"X-API-Key": "lk_xyz"}) == "lk_xyz"
    with pytest.raises(errors.Unauthorized) as caught:
        auth.api_key_from({"Authorization": "Basic dXNlcg=="})
    assert caught.value.code == "missing_api_key"


def test_a_role_not_allowed_is_forbidden():
    with pytest.raises(errors.Forbidden) as caught:
        auth.authorize(staff, (auth.ADMIN,), SHOP)
    assert caught.value.code == "role_not_allowed"


def test_a_key_of_another_shop_is_forbidden_but_an_operator_acts_for_any_shop():
    with pytest.raises(errors.Forbidden) as caught:
        auth.authorize(admin, (auth.ADMIN,), "99999999-9999-9999-9999-999999999999")
    assert caught.value.code == "wrong_shop"
    auth.authorize(operator, (auth.OPERATOR,), SHOP)
    auth.authorize(admin, (auth.ADMIN,), SHOP)


def test_branch_staff_sell_only_at_their_branch():
    assert auth.sale_branch(staff, None) == BRANCH
    assert auth.sale_branch(staff, BRANCH) == BRANCH
    with pytest.raises(errors.Forbidden) as caught:
        auth.sale_branch(staff, "33333333-3333-3333-3333-333333333333")
    assert caught.value.code == "wrong_branch"


@pytest.mark.parametrize("principal", [admin, manager, internal])
def test_admins_managers_and_internal_systems_name_the_branch(principal):
    assert auth.sale_branch(principal, BRANCH) == BRANCH
    with pytest.raises(errors.InvalidInput) as caught:
        auth.sale_branch(principal, None)
    assert "branch_id" in caught.value.fields


def test_the_ledger_records_who_acted():
    assert staff.actor == {"type": "staff", "id": "s1"}
    assert admin.actor == {"type": "admin", "id": "k1"}
    assert internal.actor == {"type": "internal_system", "id": "k5"}


def test_cached_identities_expire():
    now = [0.0]
    cache = auth.KeyCache(ttl=10, clock=lambda: now[0])
    cache.put("lk_a", admin)
    assert cache.get("lk_a") == admin
    assert cache.get("lk_b") is None
    now[0] = 10.5
    assert cache.get("lk_a") is None


def test_the_cache_never_holds_the_key_itself():
    cache = auth.KeyCache(ttl=10)
    cache.put("lk_secret", admin)
    assert all(b"lk_secret" not in slot for slot in cache._entries)
