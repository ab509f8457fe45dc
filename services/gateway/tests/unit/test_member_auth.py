"""Member principals (member tokens) at the edge: their role, their shop, their actor; the caller's address."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from chassis import errors
from gateway import auth
from gateway.routes.me import Caller

SHOP = "11111111-1111-1111-1111-111111111111"
member = auth.MemberPrincipal("t1", SHOP, "m1", "+66812345678")


def test_a_member_acts_as_themselves():
    assert member.role == auth.MEMBER and member.key_id == "t1"
    assert member.actor == {"type": "member", "id": "m1"}


def test_a_member_reaches_only_member_routes_of_their_own_shop():
    auth.authorize(member, (auth.MEMBER,), SHOP)
    with pytest.raises(errors.Forbidden) as caught:
        auth.authorize(member, (auth.MEMBER,), "99999999-9999-9999-9999-999999999999")
    assert caught.value.code == "wrong_shop"
    with pytest.raises(errors.Forbidden) as caught:
        auth.authorize(member, (auth.ADMIN, auth.STAFF), SHOP)
    assert caught.value.code == "role_not_allowed"


def test_a_forgotten_token_is_asked_for_again():
    cache = auth.KeyCache(60)
    cache.put("mt_x", member)
    assert cache.get("mt_x") is member
    cache.forget("mt_x")
    cache.forget("mt_never_seen")
    assert cache.get("mt_x") is None


def test_tokens_are_forgotten_by_token_id_or_by_member_as_members_announces():
    cache = auth.KeyCache(60)
    other_token = auth.MemberPrincipal("t2", SHOP, "m1", "+66812345678")
    someone_else = auth.MemberPrincipal("t3", SHOP, "m2", "+66899999999")
    cache.put("mt_a", member)
    cache.put("mt_b", other_token)
    cache.put("mt_c", someone_else)
    cache.forget_ids(["t1"])  # members.signed_out of one token
    assert cache.get("mt_a") is None and cache.get("mt_b") is other_token
    cache.forget_ids(["m1"])  # members.erased: every token of the member
    assert cache.get("mt_b") is None and cache.get("mt_c") is someone_else
    cache.forget_ids(["unknown"])


def request(forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_environ())


def test_the_callers_address_is_the_peer_unless_proxies_are_trusted():
    assert Caller(request("1.2.3.4"), 0).address == "10.0.0.5"
    assert Caller(request("6.6.6.6, 1.2.3.4"), 1).address == "1.2.3.4"
    assert Caller(request("6.6.6.6, 1.2.3.4, 10.0.0.1"), 2).address == "1.2.3.4"
    assert Caller(request(), 1).address == "10.0.0.5"
