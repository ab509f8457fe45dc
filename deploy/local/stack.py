"""Run the whole platform on one machine: every service, its relay, and the gateway.

    python deploy/local/stack.py migrate      # create databases, migrate, declare queues
    python deploy/local/stack.py run          # migrate, start everything, load a demo shop, wait for Ctrl-C

The end-to-end tests drive the same `Stack` with their own ports, database
names and RabbitMQ vhost, so what they test is what `make run` starts.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Component:
    name: str
    service_class: str
    port_offset: int
    has_database: bool = True

    @property
    def config(self):
        return ROOT / "services" / self.name / "config.yaml"

    @property
    def migrations(self):
        return ROOT / "services" / self.name / "migrations"


COMPONENTS = (
    Component("gateway", "gateway.service:GatewayService", 0, has_database=False),
    Component("points", "points.service:PointsService", 1),
    Component("members", "members.service:MembersService", 2),
    Component("rewards", "rewards.service:RewardsService", 3),
    Component("campaigns", "campaigns.service:CampaignsService", 4),
    Component("notifier", "notifier.service:NotifierService", 5),
)


FAKES_OFFSET = 9  # the fake LINE/SMS providers: http_base + 9 (make run: 8009)


def free_port_base(start=18000, count=FAKES_OFFSET + 1):
    """The first of `count` consecutive free ports on 127.0.0.1 from `start` on."""
    import socket

    for base in range(start, 60000, 10):
        try:
            for offset in range(count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def rabbitmqctl(*args, check=True):
    return subprocess.run(["rabbitmqctl", *args], check=check, capture_output=True, text=True, timeout=120)


def create_vhost(name, quorum=False):
    """A RabbitMQ vhost of its own (for tests and benchmarks), guest allowed everything."""
    rabbitmqctl("add_vhost", name, *(["--default-queue-type", "quorum"] if quorum else []))
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")


def delete_vhost(name):
    rabbitmqctl("delete_vhost", name, check=False)


def _log(message):
    sys.stderr.write(json.dumps({"event": message, "logger": "stack"}) + "\n")


class Stack:
    def __init__(self, http_base=8000, db_prefix="loyalty", amqp_uri="amqp://guest:guest@127.0.0.1:5672/",
                 pg_server="postgresql://postgres@127.0.0.1:5432", log_dir=ROOT / ".run" / "logs",
                 extra_env=None, python=sys.executable):
        self.http_base = http_base
        self.db_prefix = db_prefix
        self.amqp_uri = amqp_uri
        self.pg_server = pg_server.rstrip("/")
        self.log_dir = pathlib.Path(log_dir)
        self.extra_env = extra_env or {}
        self.python = python
        self.processes = {}

    # --- configuration --------------------------------------------------------

    def dsn(self, component):
        return f"{self.pg_server}/{self.db_prefix}_{component.name}"

    def http_address(self, component):
        return f"127.0.0.1:{self.http_base + component.port_offset}"

    @property
    def gateway_url(self):
        return f"http://{self.http_address(COMPONENTS[0])}"

    @property
    def fakes_url(self):
        """The local fake LINE and SMS providers (notifier.fakes) the notifier sends to."""
        return f"http://127.0.0.1:{self.http_base + FAKES_OFFSET}"

    def env(self):
        env = dict(os.environ)
        env.update({"AMQP_URI": self.amqp_uri, "PSYCOPG_WAIT_FUNC": "wait_select", "PYTHONUNBUFFERED": "1",
                    "LINE_API_URL": self.fakes_url, "THAIBULKSMS_URL": self.fakes_url})
        for component in COMPONENTS:
            prefix = component.name.upper()
            env[f"{prefix}_HTTP"] = self.http_address(component)
            if component.has_database:
                env[f"{prefix}_DB_DSN"] = self.dsn(component)
        env.update(self.extra_env)
        return env

    def _run(self, *args):
        subprocess.run([self.python, *args], env=self.env(), cwd=ROOT, check=True)

    # --- lifecycle ------------------------------------------------------------

    def migrate(self):
        """Create and migrate every database, then declare every consumer queue
        (before anything publishes: an event with no queue bound is dropped)."""
        for component in COMPONENTS:
            if component.has_database:
                self._run("-m", "chassis.migrate", "--config", str(component.config),
                          "--migrations", str(component.migrations))
        for component in COMPONENTS:
            if component.has_database:
                self._run("-m", "chassis.topology", "--config", str(component.config), component.service_class)

    def start_component(self, component):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        module = component.service_class.split(":")[0]
        self._spawn(component.name, ["-m", "chassis.run", "run", "--config", str(component.config),
                                     f"{module}:{component.service_class.split(':')[1]}"])
        if component.has_database:
            self._spawn(f"{component.name}-relay", ["-m", "chassis.relay", "--config", str(component.config)])

    def restart_service(self, name):
        """Start a component's service process again (after a test killed it); its relay stays."""
        component = next(c for c in COMPONENTS if c.name == name)
        module, cls = component.service_class.split(":")
        self._spawn(name, ["-m", "chassis.run", "run", "--config", str(component.config), f"{module}:{cls}"])

    def _spawn(self, name, args):
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [self.python, *args], env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def start(self):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn("fakes", ["-m", "notifier.fakes", "--port", str(self.http_base + FAKES_OFFSET)])
        for component in COMPONENTS:
            self.start_component(component)

    def stop_process(self, name, sig=signal.SIGTERM, timeout=10):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self):
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in list(self.processes.values()):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def drop_databases(self):
        from chassis import migrate

        for component in COMPONENTS:
            if component.has_database:
                migrate.drop_database(self.dsn(component))

    def dead(self):
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def wait_healthy(self, timeout=90):
        """Until the gateway reports every service up (their databases too)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.dead():
                raise RuntimeError(f"processes exited: {self.dead()} (logs in {self.log_dir})")
            try:
                with urllib.request.urlopen(f"{self.gateway_url}/healthz", timeout=3) as reply:
                    if reply.status == 200:
                        return json.load(reply)
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise RuntimeError(f"the stack did not become healthy in {timeout}s: {last}")

    def operator_key(self, label="operator"):
        members = next(c for c in COMPONENTS if c.name == "members")
        out = subprocess.run([self.python, "-m", "members.cli", "--config", str(members.config),
                              "create-operator-key", "--label", label],
                             env=self.env(), cwd=ROOT, check=True, capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1]


# --- the demo shop that `make run` loads ---------------------------------------

def _post(url, key, body, method="POST"):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4())})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def _put(url, key, body):
    return _post(url, key, body, method="PUT")


def load_demo(stack):
    operator = stack.operator_key("make run")
    base = stack.gateway_url
    shop = _post(f"{base}/shops", operator, {"name": "Demo Coffee", "timezone": "Asia/Bangkok",
                                             "earn_rule": {"points": 1, "per_baht": "25"}})
    shop_id, admin = shop["shop"]["shop_id"], shop["admin_api_key"]
    branch = _post(f"{base}/shops/{shop_id}/branches", admin, {"name": "Siam Square"})
    staff = _post(f"{base}/shops/{shop_id}/staff", admin, {"name": "Nok", "branch_id": branch["branch_id"]})
    reward = _post(f"{base}/shops/{shop_id}/rewards", admin, {"kind": "in_store", "name": "Free cookie",
                                                              "points_cost": 5, "coupon_days": 30})
    _put(f"{base}/shops/{shop_id}/consent-text", admin, {
        "version": "2026-11", "terms": "Demo Coffee member terms: points, rewards and coupons as published.",
        "privacy": "Demo Coffee keeps your phone, name and purchases to run your membership."})
    return {"operator": operator, "shop_id": shop_id, "admin": admin, "branch_id": branch["branch_id"],
            "staff": staff["api_key"], "reward_id": reward["reward_id"]}


def banner(stack, demo):
    base = stack.gateway_url
    lines = [
        "", "Loyalty platform is running.",
        f"  gateway        {base}   (health: {base}/healthz, API: {base}/openapi.json)",
        "  service metrics " + ", ".join(f"{c.name} http://{stack.http_address(c)}/metrics"
                                         for c in COMPONENTS[1:]),
        f"  logs           {stack.log_dir}/",
        f"  LINE/SMS       {stack.fakes_url}/_received   (local fake providers: what the notifier sent)",
        "", "Demo shop 'Demo Coffee' (1 point per 25 baht):",
        f"  shop_id        {demo['shop_id']}",
        f"  branch_id      {demo['branch_id']}",
        f"  operator key   {demo['operator']}",
        f"  admin key      {demo['admin']}",
        f"  staff key      {demo['staff']}",
        "", "Try a sale at the counter:",
        f"  curl -s -X POST {base}/shops/{demo['shop_id']}/sales -H 'Authorization: Bearer {demo['staff']}' \\",
        "       -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' \\",
        "       -d '{\"phone\": \"081-234-5678\", \"amount\": \"125.50\", \"receipt_no\": \"R-0001\"}'",
        f"  curl -s {base}/shops/{demo['shop_id']}/members/by-phone/0812345678 "
        f"-H 'Authorization: Bearer {demo['staff']}'",
        "", "Then redeem the demo reward 'Free cookie' (5 points) and use its coupon at the counter:",
        f"  curl -s -X POST {base}/shops/{demo['shop_id']}/members/by-phone/0812345678/redemptions \\",
        f"       -H 'Authorization: Bearer {demo['staff']}' -H 'Idempotency-Key: demo-2' \\",
        f"       -H 'Content-Type: application/json' -d '{{\"reward_id\": \"{demo['reward_id']}\"}}'",
        f"  curl -s -X POST {base}/shops/{demo['shop_id']}/coupons/<display_code>/use "
        f"-H 'Authorization: Bearer {demo['staff']}'",
        "", "Register that phone as a member (claims its points; consent to the shop's terms v2026-11):",
        f"  curl -s -X POST {base}/shops/{demo['shop_id']}/members -H 'Authorization: Bearer {demo['staff']}' \\",
        "       -H 'Idempotency-Key: demo-3' -H 'Content-Type: application/json' \\",
        "       -d '{\"phone\": \"0812345678\", \"name\": \"Somchai\", \"consent\": true, "
        "\"consent_version\": \"2026-11\"}'",
        "", "Ctrl-C stops everything this started.", "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["migrate", "run"])
    parser.add_argument("--http-base", type=int, default=int(os.environ.get("LOYALTY_HTTP_BASE", 8000)))
    args = parser.parse_args(argv)
    stack = Stack(http_base=args.http_base, amqp_uri=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    stack.migrate()
    if args.command == "migrate":
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        stack.start()
        stack.wait_healthy()
        banner(stack, load_demo(stack))
        while not stopping and not stack.dead():
            time.sleep(0.5)
        if stack.dead():
            _log(f"processes exited: {stack.dead()}; stopping the rest")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        _log("stopped")


if __name__ == "__main__":
    main()
