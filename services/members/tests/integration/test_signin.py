"""Member sign-in against PostgreSQL and RabbitMQ: codes by SMS (the notifier played by a
small nameko service that records what it was asked to send), LINE ID tokens (LINE's JWKS
served from loopback), member tokens, revocation, shops kept apart."""
import datetime
import json
import threading
import uuid

import eventlet
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port
from psycopg.rows import dict_row
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from chassis import errors
from chassis.outbox import WorkerOutbox
from chassis.testing import service_config
from members import signin, signin_handlers

CHANNEL = "1650000000"
SECRET = "0123456789abcdef0123456789abcdef"
LINE_USER = "U" + "0123456789abcdef" * 2
OTHER_LINE_USER = "U" + "fedcba9876543210" * 2
PHONE = "+66812345678"
KEY = ec.generate_private_key(ec.SECP256R1())
SENT = []  # what the fake notifier was asked to send
REFUSE = []  # errors the fake notifier raises next


class FakeNotifier:
    name = "notifier"

    @rpc(expected_exceptions=errors.EXPECTED)
    def send_otp(self, request):
        if REFUSE:
            raise REFUSE.pop(0)
        SENT.append(request)
        return {"message_id": str(uuid.uuid4()), "status": "sent", "reason": None, "sms_parts": 1}


@pytest.fixture
def jwks_url():
    """LINE's JWKS endpoint, played on loopback with one EC key (kid k1)."""
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1", "alg": "ES256",
           "use": "sig"}

    def app(environ, start_response):
        return Response(json.dumps({"keys": [jwk]}), mimetype="application/json")(environ, start_response)

    port = find_free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/oauth2/v2.1/certs"
    server.shutdown()


@pytest.fixture
def config(rabbit_config, dsn, jwks_url):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}",
                          SIGNIN={"LINE_JWKS_URL": jwks_url, "OTP_PER_PHONE": 5, "OTP_PER_IP": 7,
                                  "OTP_WINDOW_MINUTES": 60, "OTP_PEPPER": "test-pepper"})


@pytest.fixture
def notifier(container_factory, config):
    SENT.clear()
    REFUSE.clear()
    container_factory(FakeNotifier, config).start()
    return SENT


@pytest.fixture
def line_shop(members, shop):
    shop_id = shop["shop"]["shop_id"]
    members.set_line_login({"shop_id": shop_id, "channel_id": CHANNEL, "channel_secret": SECRET})
    return shop_id


def line_token(alg="ES256", sub=LINE_USER, aud=CHANNEL, exp_in=3600, nonce=None, key=None):
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    claims = {"iss": "https://access.line.me", "sub": sub, "aud": aud, "iat": now, "exp": now + exp_in}
    if nonce:
        claims["nonce"] = nonce
    if alg == "HS256":
        return jwt.encode(claims, key or SECRET, algorithm="HS256")
    return jwt.encode(claims, key or KEY, algorithm="ES256", headers={"kid": "k1"})


def ask_code(members, shop_id, phone=PHONE, ip=None):
    sent = members.request_otp({"shop_id": shop_id, "phone": phone, "client_ip": ip})
    return sent["challenge_id"], SENT[-1]["code"]


def sign_in(members, shop_id, phone=PHONE):
    challenge_id, code = ask_code(members, shop_id, phone)
    return members.verify_otp({"shop_id": shop_id, "challenge_id": challenge_id, "code": code})


def refused(kind, call, *args):
    with pytest.raises(kind) as caught:
        call(*args)
    return caught.value


def outbox_types(db):
    return [row["routing_key"] for row in db.execute("SELECT routing_key FROM outbox ORDER BY created_at")]


# --- codes by SMS ----------------------------------------------------------------------

def test_a_code_sent_by_sms_signs_in_a_new_phone_as_a_phone_only_member(members, shop, notifier, db):
    shop_id = shop["shop"]["shop_id"]
    challenge_id, code = ask_code(members, shop_id, "081-234-5678")
    asked = notifier[-1]
    assert (asked["shop_id"], asked["phone"], asked["challenge_id"], asked["shop_name"]) == (
        shop_id, PHONE, challenge_id, "Cafe Amazon")
    stored = db.execute("SELECT code_hash, status FROM otp_challenges WHERE challenge_id = %s",
                        (challenge_id,)).fetchone()
    assert stored["status"] == "live" and code.encode() not in bytes(stored["code_hash"])

    signed = members.verify_otp({"shop_id": shop_id, "challenge_id": challenge_id, "code": code})
    assert signed["token"].startswith("mt_") and signed["method"] == "otp"
    assert signed["member"]["phone"] == PHONE and signed["member"]["status"] == "phone_only"
    principal = members.authenticate_member({"token": signed["token"]})
    assert principal == {"token_id": signed["token_id"], "role": "member", "shop_id": shop_id,
                         "member_id": signed["member"]["member_id"], "phone": PHONE}
    assert {"member_created.v1", "signed_in.v1"} <= set(outbox_types(db))
    stored = db.execute("SELECT token_hash, expires_at - created_at AS life FROM member_tokens").fetchone()
    assert stored["token_hash"] == signin.hash_token(signed["token"]) and stored["life"].days == 30


def test_a_known_member_signs_in_as_themselves_and_strangers_get_the_same_answer(members, shop, notifier):
    shop_id = shop["shop"]["shop_id"]
    first = sign_in(members, shop_id)
    known = members.request_otp({"shop_id": shop_id, "phone": PHONE})
    stranger = members.request_otp({"shop_id": shop_id, "phone": "+66899999999"})
    assert set(known) == set(stranger) == {"challenge_id", "expires_at"}
    again = members.verify_otp({"shop_id": shop_id, "challenge_id": known["challenge_id"],
                                "code": notifier[-2]["code"]})
    assert again["member"]["member_id"] == first["member"]["member_id"] and again["token"] != first["token"]


def test_five_wrong_codes_kill_the_code(members, shop, notifier):
    shop_id = shop["shop"]["shop_id"]
    challenge_id, code = ask_code(members, shop_id)
    wrong = "000000" if code != "000000" else "111111"
    for tries_left in (4, 3, 2, 1):
        error = refused(errors.Unauthorized, members.verify_otp,
                        {"shop_id": shop_id, "challenge_id": challenge_id, "code": wrong})
        assert error.code == "otp_wrong_code" and f"{tries_left} tries left" in error.message
    error = refused(errors.Unauthorized, members.verify_otp,
                    {"shop_id": shop_id, "challenge_id": challenge_id, "code": wrong})
    assert error.code == "otp_dead"
    error = refused(errors.Unauthorized, members.verify_otp,
                    {"shop_id": shop_id, "challenge_id": challenge_id, "code": code})
    assert error.code == "otp_dead"


def test_a_code_is_used_once(members, shop, notifier):
    shop_id = shop["shop"]["shop_id"]
    challenge_id, code = ask_code(members, shop_id)
    members.verify_otp({"shop_id": shop_id, "challenge_id": challenge_id, "code": code})
    error = refused(errors.Conflict, members.verify_otp, {"shop_id": shop_id, "challenge_id": challenge_id,
                                                          "code": code})
    assert error.code == "otp_used"


def test_a_code_expires_after_five_minutes(members, shop, notifier, dsn):
    import psycopg

    shop_id = shop["shop"]["shop_id"]
    challenge_id, code = ask_code(members, shop_id)
    cmd = {"shop_id": uuid.UUID(shop_id), "challenge_id": uuid.UUID(challenge_id), "code": code}
    as_of = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5, seconds=1)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        result, refusal = signin_handlers.verify_otp(conn, cmd, WorkerOutbox({}), b"test-pepper", as_of, 30)
    assert result is None and refusal.code == "otp_expired"
    # four minutes later it still worked: the same code, as of now
    assert members.verify_otp({"shop_id": shop_id, "challenge_id": challenge_id, "code": code})["token"]


def test_codes_are_limited_per_phone(members, shop, notifier):
    shop_id = shop["shop"]["shop_id"]
    for _ in range(5):
        members.request_otp({"shop_id": shop_id, "phone": PHONE})
    error = refused(errors.Conflict, members.request_otp, {"shop_id": shop_id, "phone": PHONE})
    assert error.code == "otp_rate_limited" and "phone" in error.fields
    assert len(notifier) == 5
    members.request_otp({"shop_id": shop_id, "phone": "+66899999999"})  # another phone is not held up


def test_codes_are_limited_per_address(members, shop, notifier):
    shop_id = shop["shop"]["shop_id"]
    for n in range(7):
        members.request_otp({"shop_id": shop_id, "phone": f"+6681234000{n}", "client_ip": "203.0.113.9"})
    error = refused(errors.Conflict, members.request_otp,
                    {"shop_id": shop_id, "phone": "+66812340099", "client_ip": "203.0.113.9"})
    assert error.code == "otp_rate_limited" and "client_ip" in error.fields
    members.request_otp({"shop_id": shop_id, "phone": "+66812340099", "client_ip": "203.0.113.10"})


def test_racing_requests_never_pass_the_limit(members, shop, notifier, config, db):
    shop_id = shop["shop"]["shop_id"]

    def ask(_):
        with ServiceRpcProxy("members", config, timeout=20) as proxy:
            try:
                proxy.request_otp({"shop_id": shop_id, "phone": PHONE})
                return "sent"
            except errors.Conflict:
                return "limited"

    outcomes = list(eventlet.GreenPool(12).imap(ask, range(12)))
    assert outcomes.count("sent") == 5 and outcomes.count("limited") == 7
    assert db.execute("SELECT count(*) AS n FROM otp_challenges").fetchone()["n"] == 5


def test_a_code_the_notifier_cannot_send_is_dead(members, shop, notifier, db):
    shop_id = shop["shop"]["shop_id"]
    REFUSE.append(errors.Conflict("sms_not_configured", "the shop has not enabled SMS"))
    error = refused(errors.Conflict, members.request_otp, {"shop_id": shop_id, "phone": PHONE})
    assert error.code == "sms_not_configured"
    assert db.execute("SELECT status FROM otp_challenges").fetchone()["status"] == "dead"


def test_bad_input_names_each_field(members, shop, notifier):
    error = refused(errors.InvalidInput, members.request_otp, {"shop_id": "nope", "phone": "12"})
    assert set(error.fields) == {"shop_id", "phone"}
    error = refused(errors.InvalidInput, members.verify_otp,
                    {"shop_id": shop["shop"]["shop_id"], "challenge_id": str(uuid.uuid4()), "code": "12a"})
    assert set(error.fields) == {"code"}
    error = refused(errors.NotFound, members.request_otp, {"shop_id": str(uuid.uuid4()), "phone": PHONE})
    assert error.code == "shop_not_found"


# --- tokens ---------------------------------------------------------------------------------

def test_a_revoked_token_no_longer_authenticates(members, shop, notifier, db):
    shop_id = shop["shop"]["shop_id"]
    one, two = sign_in(members, shop_id), sign_in(members, shop_id)
    member_id = one["member"]["member_id"]
    assert members.sign_out({"shop_id": shop_id, "member_id": member_id, "token_id": one["token_id"]}) == {
        "revoked": 1}
    assert refused(errors.Unauthorized, members.authenticate_member, {"token": one["token"]}).code == \
        "invalid_member_token"
    assert members.authenticate_member({"token": two["token"]})["member_id"] == member_id
    assert members.sign_out({"shop_id": shop_id, "member_id": member_id, "all": True}) == {"revoked": 1}
    assert members.sign_out({"shop_id": shop_id, "member_id": member_id, "all": True}) == {"revoked": 0}
    refused(errors.Unauthorized, members.authenticate_member, {"token": two["token"]})
    assert outbox_types(db).count("signed_out.v1") == 2
    error = refused(errors.InvalidInput, members.sign_out, {"shop_id": shop_id, "member_id": member_id})
    assert "token_id" in error.fields


def test_an_expired_token_no_longer_authenticates(members, shop, notifier, db):
    signed = sign_in(members, shop["shop"]["shop_id"])
    db.execute("UPDATE member_tokens SET expires_at = now() - interval '1 second'")
    refused(errors.Unauthorized, members.authenticate_member, {"token": signed["token"]})
    refused(errors.Unauthorized, members.authenticate_member, {"token": "mt_made_up"})


def test_a_member_of_one_shop_is_nobody_in_another(members, shop, notifier):
    shop_a = shop["shop"]["shop_id"]
    shop_b = members.create_shop({"idempotency_key": str(uuid.uuid4()), "name": "Other"})["shop"]["shop_id"]
    signed = sign_in(members, shop_a)
    member_id = signed["member"]["member_id"]
    assert members.authenticate_member({"token": signed["token"]})["shop_id"] == shop_a
    assert refused(errors.NotFound, members.my_profile, {"shop_id": shop_b, "member_id": member_id}).code == \
        "member_not_found"
    challenge_id, code = ask_code(members, shop_a)
    assert refused(errors.NotFound, members.verify_otp, {"shop_id": shop_b, "challenge_id": challenge_id,
                                                         "code": code}).code == "otp_not_found"
    assert members.sign_out({"shop_id": shop_b, "member_id": member_id, "all": True}) == {"revoked": 0}
    assert members.my_profile({"shop_id": shop_a, "member_id": member_id})["phone"] == PHONE


def test_old_challenges_and_dead_tokens_are_purged_as_of_any_time(members, shop, notifier, db):
    sign_in(members, shop["shop"]["shop_id"])
    members.line_nonce({"shop_id": shop["shop"]["shop_id"]})
    assert members.purge_sign_in({})["challenges"] == 0
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=61)).isoformat()
    assert members.purge_sign_in({"as_of": later}) == {"challenges": 1, "tokens": 1, "line_nonces": 1,
                                                       "line_tokens": 0}
    assert members.purge_sign_in({"as_of": later}) == {"challenges": 0, "tokens": 0, "line_nonces": 0,
                                                       "line_tokens": 0}


# --- LINE -------------------------------------------------------------------------------------

def test_the_line_channel_secret_is_never_returned(members, line_shop):
    shown = members.get_line_login({"shop_id": line_shop})
    assert shown["channel_id"] == CHANNEL and shown["secret_set"] is True and SECRET not in json.dumps(shown)
    error = refused(errors.InvalidInput, members.set_line_login,
                    {"shop_id": line_shop, "channel_id": "abc", "channel_secret": "has space"})
    assert set(error.fields) == {"channel_id", "channel_secret"}


def test_an_unlinked_line_account_is_told_so(members, line_shop):
    error = refused(errors.Forbidden, members.line_sign_in, {"shop_id": line_shop, "id_token": line_token()})
    assert error.code == "line_account_not_linked"


def test_a_line_account_links_with_a_code_then_signs_in_alone(members, line_shop, notifier, db):
    challenge_id, code = ask_code(members, line_shop)
    nonce = members.line_nonce({"shop_id": line_shop})["nonce"]
    linked = members.line_sign_in({"shop_id": line_shop, "id_token": line_token(nonce=nonce), "nonce": nonce,
                                   "otp": {"challenge_id": challenge_id, "code": code}})
    assert linked["method"] == "line" and linked["member"]["line_linked"] is True
    assert db.execute("SELECT line_user_id FROM members").fetchone()["line_user_id"] == LINE_USER
    event = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'line_linked.v1'").fetchone()["envelope"]
    assert event["data"] == {"member_id": linked["member"]["member_id"], "phone": PHONE,
                             "line_user_id": LINE_USER, "linked_at": event["data"]["linked_at"]}
    change = db.execute("SELECT kind, actor, changes FROM member_changes").fetchone()
    assert (change["kind"], change["changes"]) == ("updated", {"line_user_id": [None, LINE_USER]})
    assert change["actor"] == {"type": "member", "id": linked["member"]["member_id"]}
    again = members.line_sign_in({"shop_id": line_shop, "id_token": line_token(alg="HS256")})
    assert again["member"]["member_id"] == linked["member"]["member_id"]
    assert outbox_types(db).count("line_linked.v1") == 1


def test_a_signed_in_member_links_their_line_account_and_a_taken_one_is_409(members, line_shop, notifier):
    first = sign_in(members, line_shop)
    view = members.link_line({"shop_id": line_shop, "member_id": first["member"]["member_id"],
                              "id_token": line_token()})
    assert view["line_linked"] is True
    members.link_line({"shop_id": line_shop, "member_id": first["member"]["member_id"], "id_token": line_token()})
    other = sign_in(members, line_shop, "+66899999999")
    error = refused(errors.Conflict, members.link_line, {"shop_id": line_shop,
                                                         "member_id": other["member"]["member_id"],
                                                         "id_token": line_token()})
    assert error.code == "line_user_taken"
    error = refused(errors.Conflict, members.link_line, {"shop_id": line_shop,
                                                         "member_id": first["member"]["member_id"],
                                                         "id_token": line_token(sub=OTHER_LINE_USER)})
    assert error.code == "member_has_other_line_account"


@pytest.mark.parametrize("token, nonce, code", [
    (lambda: line_token(key=ec.generate_private_key(ec.SECP256R1())), None, "line_token_bad_signature"),
    (lambda: line_token(alg="HS256", key="fedcba9876543210fedcba9876543210"), None, "line_token_bad_signature"),
    (lambda: line_token(aud="1999999999"), None, "line_token_wrong_audience"),
    (lambda: line_token(exp_in=-1), None, "line_token_expired"),
    (lambda: line_token(nonce="n1"), "n2", "line_token_wrong_nonce"),
    (lambda: "garbage", None, "line_token_bad_token"),
])
def test_a_bad_line_token_is_refused_with_its_reason(members, line_shop, token, nonce, code):
    error = refused(errors.Unauthorized, members.line_sign_in,
                    {"shop_id": line_shop, "id_token": token(), "nonce": nonce})
    assert error.code == code and "id_token" in error.fields


def test_line_sign_in_needs_the_shops_channel(members, shop):
    error = refused(errors.Conflict, members.line_sign_in, {"shop_id": shop["shop"]["shop_id"],
                                                            "id_token": line_token()})
    assert error.code == "line_login_not_configured"


def test_a_line_token_signs_in_once_and_its_nonce_must_be_one_the_shop_issued(members, line_shop, notifier):
    challenge_id, code = ask_code(members, line_shop)
    token = line_token()
    error = refused(errors.Forbidden, members.line_sign_in, {"shop_id": line_shop, "id_token": token})
    assert error.code == "line_account_not_linked"  # a refused sign-in does not use the token up
    members.line_sign_in({"shop_id": line_shop, "id_token": token, "otp": {"challenge_id": challenge_id,
                                                                          "code": code}})
    error = refused(errors.Unauthorized, members.line_sign_in, {"shop_id": line_shop, "id_token": token})
    assert error.code == "line_token_replayed"
    error = refused(errors.Unauthorized, members.line_sign_in,
                    {"shop_id": line_shop, "id_token": line_token(nonce="made-up-by-the-client")})
    assert error.code == "line_token_wrong_nonce"
    assert refused(errors.NotFound, members.line_nonce, {"shop_id": str(uuid.uuid4())}).code == "shop_not_found"
    nonce = members.line_nonce({"shop_id": line_shop})["nonce"]
    assert members.line_sign_in({"shop_id": line_shop, "id_token": line_token(nonce=nonce)})["method"] == "line"
    error = refused(errors.Unauthorized, members.line_sign_in,
                    {"shop_id": line_shop, "id_token": line_token(alg="HS256", nonce=nonce)})
    assert error.code == "line_token_wrong_nonce"  # a nonce is accepted once


def test_line_nonces_are_limited_per_address(members, line_shop, config):
    limit = 60  # the default of SIGNIN.NONCES_PER_IP
    for _ in range(limit):
        members.line_nonce({"shop_id": line_shop, "client_ip": "203.0.113.9"})
    error = refused(errors.Conflict, members.line_nonce, {"shop_id": line_shop, "client_ip": "203.0.113.9"})
    assert error.code == "line_nonce_rate_limited" and "client_ip" in error.fields
    assert members.line_nonce({"shop_id": line_shop, "client_ip": "203.0.113.10"})["nonce"]
