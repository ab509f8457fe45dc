"""Member sign-in bench entries.

member_auth_rpc: members.authenticate_member (what the gateway asks on each member request
whose token is not in its cache) over 1,000 live tokens made by SQL, from THREADS threads
with one RPC client each, for SECONDS seconds.

otp_signin: 200 sign-ins one after the other, each members.request_otp (a challenge, then
the notifier sends the SMS to the local fake ThaiBulkSMS) and members.verify_otp with the
code read back from the fake (a phone-only member is made, then a token): p50/p99 of each step.
"""
import hashlib
import json
import re
import statistics
import threading
import time
import urllib.request
import uuid

import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

THREADS = 10
SECONDS = 10
TOKENS = 1000
SIGN_INS = 200


def _ms(values, fraction):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 2)


def member_auth(stack, members_component, shop_id):
    tokens = [f"mt_bench_{uuid.uuid4().hex}" for _ in range(TOKENS)]
    with psycopg.connect(stack.dsn(members_component), autocommit=True) as conn, conn.transaction():
        with conn.cursor() as cur:
            for n, token in enumerate(tokens):
                member_id = uuid.uuid4()
                cur.execute("INSERT INTO members (member_id, shop_id, phone) VALUES (%s, %s, %s)",
                            (member_id, shop_id, f"+6687{n:07d}"))
                cur.execute("INSERT INTO member_tokens (token_id, token_hash, shop_id, member_id, method, created_at,"
                            " expires_at) VALUES (%s, %s, %s, %s, 'otp', now(), now() + interval '30 days')",
                            (uuid.uuid4(), hashlib.sha256(token.encode()).digest(), shop_id, member_id))
    latencies, errors, deadline = [], [], time.monotonic() + SECONDS

    def caller(offset):
        mine = []
        with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=10) as rpc:
            n = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    rpc.members.authenticate_member({"token": tokens[n % TOKENS]})
                    mine.append(time.perf_counter() - started)
                except Exception as exc:  # noqa: BLE001 - counted, reported
                    errors.append(repr(exc))
                n += THREADS
        latencies.extend(mine)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"ops_per_s": round(len(latencies) / SECONDS, 1), "p50_ms": _ms(latencies, 0.5),
            "p99_ms": _ms(latencies, 0.99), "errors": len(errors), "clients": f"{THREADS} threads x 1 in flight",
            "tokens": TOKENS}


def _code_for(stack, msisdn):
    with urllib.request.urlopen(f"{stack.fakes_url}/_received", timeout=5) as reply:
        received = json.loads(reply.read())
    text = next(item["text"] for item in reversed(received) if item.get("to") == msisdn)
    return re.search(r"\b(\d{6})\b", text).group(1)


def otp_signin(stack, shop_id):
    asked, verified = [], []
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=30) as rpc:
        rpc.notifier.save_channels({"shop_id": shop_id, "shop_name": "Demo Coffee", "sms_enabled": True,
                                    "sms_provider": "thaibulksms", "sms_sender": "DEMO",
                                    "sms_credentials": {"api_key": "bench", "api_secret": "bench"}})
        for n in range(SIGN_INS):
            phone = f"+6686{n:07d}"
            started = time.perf_counter()
            sent = rpc.members.request_otp({"shop_id": shop_id, "phone": phone})
            asked.append(time.perf_counter() - started)
            code = _code_for(stack, phone.removeprefix("+"))
            started = time.perf_counter()
            signed = rpc.members.verify_otp({"shop_id": shop_id, "challenge_id": sent["challenge_id"], "code": code})
            verified.append(time.perf_counter() - started)
            assert signed["token"].startswith("mt_")
    return {"sign_ins": SIGN_INS, "request_otp_p50_ms": _ms(asked, 0.5), "request_otp_p99_ms": _ms(asked, 0.99),
            "verify_otp_p50_ms": _ms(verified, 0.5), "verify_otp_p99_ms": _ms(verified, 0.99),
            "mean_sign_in_ms": round(1000 * (statistics.mean(asked) + statistics.mean(verified)), 2)}
