"""The whole platform as separate processes, started by the launcher `make run` uses.

Its own HTTP ports, its own databases (e2e<random>_<service>) and its own
RabbitMQ vhost whose default queue type is quorum, as in deploy/: nameko's
queues must work as quorum queues.
"""
import pathlib
import sys
import time
import uuid

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import stack as launcher  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    suffix = uuid.uuid4().hex[:8]
    vhost = f"e2e_{suffix}"
    launcher.create_vhost(vhost, quorum=True)
    running = launcher.Stack(
        http_base=launcher.free_port_base(), db_prefix=f"e2e{suffix}",
        amqp_uri=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        log_dir=ROOT / ".run" / f"e2e-{suffix}", extra_env={"RPC_TIMEOUT": "3", "LOG_LEVEL": "INFO"},
    )
    running.vhost = vhost
    try:
        running.migrate()
        running.start()
        running.wait_healthy(timeout=120)
        yield running
    finally:
        running.stop()
        running.drop_databases()
        launcher.delete_vhost(vhost)


@pytest.fixture(scope="session")
def operator_key(stack):
    return stack.operator_key("e2e")


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as client:
        yield client


def auth(key, idempotency_key=None, **extra):
    headers = {"Authorization": f"Bearer {key}", **extra}
    if idempotency_key is not False:
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    return headers


@pytest.fixture
def shop(api, operator_key):
    """A shop (1 point per 25 baht) with one branch and one staff member of it."""
    created = api.post("/shops", headers=auth(operator_key),
                       json={"name": f"Shop {uuid.uuid4().hex[:6]}", "earn_rule": {"points": 1, "per_baht": "25"}})
    assert created.status_code == 201, created.text
    body = created.json()
    shop_id, admin = body["shop"]["shop_id"], body["admin_api_key"]
    branch = api.post(f"/shops/{shop_id}/branches", headers=auth(admin), json={"name": "Siam"})
    assert branch.status_code == 201, branch.text
    staff = api.post(f"/shops/{shop_id}/staff", headers=auth(admin),
                     json={"name": "Nok", "branch_id": branch.json()["branch_id"]})
    assert staff.status_code == 201, staff.text
    return {"shop_id": shop_id, "admin": admin, "branch_id": branch.json()["branch_id"],
            "staff": staff.json()["api_key"]}


def eventually(check, timeout=30.0, interval=0.1):
    """Poll until `check()` returns a truthy value; return it (never sleep a fixed time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)


def pytest_collection_modifyitems(config, items):
    """Tests that stop the broker run last, so no other test sees the outage."""
    items.sort(key=lambda item: item.get_closest_marker("broker_outage") is not None)
