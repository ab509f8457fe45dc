"""RabbitMQ stops after sales were committed but before the relay published them.

The events wait in the outbox; the gateway answers 503 within its RPC timeout
(no 500, no hang); when RabbitMQ is back every service reconnects by itself and
every points.earned reaches the members service exactly once in effect.
Runs last: it stops the broker for everything on this machine, and always
starts it again.
"""
import os
import re
import signal
import time

import httpx
import pytest

from .conftest import auth, eventually, launcher

SALES = 12


POINTS = next(c for c in launcher.COMPONENTS if c.name == "points")


def backlog(stack):
    """Unpublished events, as the points service's /metrics reports them (HTTP: works without the broker)."""
    text = httpx.get(f"http://{stack.http_address(POINTS)}/metrics", timeout=5).text
    return float(re.search(r'^loyalty_outbox_backlog\{service="points"\} (\S+)$', text, re.M).group(1))


def broker(action):
    launcher.rabbitmqctl(action)
    if action == "start_app":
        launcher.rabbitmqctl("await_startup")


@pytest.mark.broker_outage
def test_events_survive_a_broker_outage_and_apply_exactly_once(api, shop, stack):
    url = f"/shops/{shop['shop_id']}/sales"
    relay = stack.processes["points-relay"]
    os.kill(relay.pid, signal.SIGSTOP)  # the relay has not published these yet
    stopped = False
    try:
        for _ in range(SALES):
            reply = api.post(url, headers=auth(shop["staff"]), json={"phone": "0833333333", "amount": "50"})
            assert reply.status_code == 201, reply.text
        assert backlog(stack) >= SALES

        broker("stop_app")
        stopped = True
        os.kill(relay.pid, signal.SIGCONT)

        started = time.monotonic()
        reply = api.post(url, headers=auth(shop["staff"]), json={"phone": "0833333333", "amount": "50"})
        elapsed = time.monotonic() - started
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"]["code"] in ("service_timeout", "broker_unavailable", "service_unavailable")
        assert elapsed < 3 + 1.5, f"the gateway took {elapsed:.1f}s with RPC_TIMEOUT=3"
        assert api.get("/healthz").status_code == 503
        assert backlog(stack) >= SALES  # nothing lost, nothing published

        broker("start_app")
        stopped = False
    finally:
        os.kill(relay.pid, signal.SIGCONT)
        if stopped:
            broker("start_app")

    eventually(lambda: backlog(stack) == 0, timeout=60)

    def member_totals():
        reply = api.get(f"{url.rsplit('/', 1)[0]}/members/by-phone/0833333333", headers=auth(shop["staff"], False))
        member = reply.json().get("member") if reply.status_code == 200 else None
        return member if member and member["sales_count"] >= SALES else None

    member = eventually(member_totals, timeout=90)
    assert (member["sales_count"], member["lifetime_points"]) == (SALES, 2 * SALES)

    # every service reconnected by itself: a new sale flows end to end
    eventually(lambda: api.get("/healthz").status_code == 200, timeout=90)
    reply = api.post(url, headers=auth(shop["staff"]), json={"phone": "0833333333", "amount": "50"})
    assert reply.status_code == 201, reply.text
    member = eventually(lambda: (m := member_totals()) and m["sales_count"] == SALES + 1 and m, timeout=60)
    assert member["lifetime_points"] == 2 * (SALES + 1)
    time.sleep(1)  # a duplicate applied late would show here
    assert member_totals()["lifetime_points"] == 2 * (SALES + 1)
