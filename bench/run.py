"""`make bench`: throughput and latency on this machine, written to bench/results/latest.json.

    python bench/run.py                 # every entry
    python bench/run.py earn_http       # one entry (the RPC ceiling is always measured: ratios
                                        # compare figures of the same run)

Starts its own stack (same launcher as `make run`) on its own databases and
RabbitMQ vhost, plus a trivial echo service for the transport ceiling. Each
entry runs PROCESSES load processes x CONCURRENCY green threads for SECONDS
after a warm-up (sales spread over CUSTOMERS phones of one shop), and reports ops_per_s, p50_ms, p99_ms, and
ratio_to_rpc_ceiling = ops_per_s / rpc_ceiling ops_per_s.
"""
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import coupons_bench  # noqa: E402  (bench/coupons_bench.py)
import floor_bench  # noqa: E402  (bench/floor_bench.py)
import imports_bench  # noqa: E402  (bench/imports_bench.py)
import ledger  # noqa: E402  (bench/ledger.py)
import notify_bench  # noqa: E402  (bench/notify_bench.py)
import privacy_bench  # noqa: E402  (bench/privacy_bench.py)
import signin_bench  # noqa: E402  (bench/signin_bench.py)
import stack as launcher  # noqa: E402
import stamps_bench  # noqa: E402  (bench/stamps_bench.py)
import tiers_bench  # noqa: E402  (bench/tiers_bench.py)

PROCESSES = int(os.environ.get("BENCH_PROCESSES", 2))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 20))
SECONDS = float(os.environ.get("BENCH_SECONDS", 15))
WARMUP = float(os.environ.get("BENCH_WARMUP", 3))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 5000))
LOAD_ENTRIES = ("rpc_ceiling", "earn_rpc", "earn_http", "redeem_rpc", "stamp_rpc", "floor_write_rpc",
                "floor_event_rpc", "floor_hop_rpc")
LEDGER_ENTRIES = ("history_page", "expire_1m_lots", "issue_1m_coupons", "notify_100k_line", "import_5k",
                  "import_100k", "export_1m", "member_auth_rpc", "otp_signin", "purge_shop_100k",
                  "tier_cycle_1m")
LOTS = int(os.environ.get("BENCH_LOTS", 1_000_000))
RESULTS = ROOT / "bench" / "results" / "latest.json"


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _ticks(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _pids(pattern):
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_snapshot(stack):
    """CPU ticks so far of every process that works for an operation."""
    snapshot = {name: _ticks(p.pid) for name, p in stack.processes.items()}
    snapshot["rabbitmq"] = sum(_ticks(p) for p in _pids("beam.smp"))
    snapshot["postgres"] = sum(_ticks(p) for p in _pids("postgres"))
    return snapshot


def cpu_per_op(before, after, ops, load_cpu_seconds):
    hz = os.sysconf("SC_CLK_TCK")
    spent = {name: (after.get(name, 0) - before.get(name, 0)) / hz for name in after}
    spent["load generators"] = load_cpu_seconds
    return {name: round(1000 * seconds / ops, 3) for name, seconds in sorted(spent.items()) if seconds > 0}


def run_load(target, setup, stack):
    before = cpu_snapshot(stack)
    procs = [subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "load.py"), target, "--concurrency", str(CONCURRENCY),
         "--seconds", str(SECONDS), "--warmup", str(WARMUP), "--customers", str(CUSTOMERS),
         "--setup", json.dumps(setup)],
        stdout=subprocess.PIPE, cwd=ROOT) for _ in range(PROCESSES)]
    outputs = [json.loads(p.communicate()[0]) for p in procs]
    after = cpu_snapshot(stack)
    latencies = [x for out in outputs for x in out["latencies"]]
    ops = sum(out["ops"] for out in outputs)
    total_ops = sum(out["ops_total"] for out in outputs)
    cpu = cpu_per_op(before, after, max(total_ops, 1), sum(out["cpu_seconds"] for out in outputs))
    return {
        "cpu_ms_per_op": cpu,
        "cpu_ms_per_op_total": round(sum(cpu.values()), 3),
        "ops_per_s": round(ops / SECONDS, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "errors": sum(out["errors"] for out in outputs),
        "clients": f"{PROCESSES} processes x {CONCURRENCY} in flight",
        "customers": CUSTOMERS,
        "seconds": SECONDS,
    }


def machine():
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "kernel": platform.release()}


def main(argv):
    wanted = argv or list(LOAD_ENTRIES + LEDGER_ENTRIES)
    unknown = set(wanted) - set(LOAD_ENTRIES + LEDGER_ENTRIES)
    if unknown:
        raise SystemExit(f"unknown bench entries {sorted(unknown)}; "
                         f"known: {', '.join(LOAD_ENTRIES + LEDGER_ENTRIES)}")
    suffix = uuid.uuid4().hex[:8]
    vhost = f"bench_{suffix}"
    launcher.create_vhost(vhost)
    amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    stack = launcher.Stack(http_base=launcher.free_port_base(19000), db_prefix=f"bench{suffix}", amqp_uri=amqp_uri,
                           log_dir=ROOT / ".run" / f"bench-{suffix}")
    results = {}
    floor_dsn = None
    try:
        stack.migrate()
        stack.start()
        stack._spawn("echo", ["-m", "chassis.run", "run", "--config", str(ROOT / "bench" / "echo.yaml"),
                              "bench.echo_service:EchoService"])
        stack.wait_healthy(timeout=120)
        demo = launcher.load_demo(stack)
        setup = {"amqp_uri": amqp_uri, "shop_id": demo["shop_id"], "branch_id": demo["branch_id"],
                 "staff_key": demo["staff"], "gateway": stack.gateway_url.removeprefix("http://")}
        points = next(c for c in launcher.COMPONENTS if c.name == "points")
        if "redeem_rpc" in wanted:
            setup["reward_id"] = coupons_bench.prepare_redeem(stack, points, demo["shop_id"], CUSTOMERS)
        if "stamp_rpc" in wanted:
            setup.update(stamps_bench.prepare(stack, demo["shop_id"], demo["branch_id"], demo["reward_id"]))
        time.sleep(1)
        loads = [w for w in wanted if w in LOAD_ENTRIES]
        # the floor's processes start only after the other entries, so that their idle relay
        # is not counted in those entries' CPU
        order = ["rpc_ceiling"] + [w for w in loads if w != "rpc_ceiling" and w not in floor_bench.ENTRIES] + \
            [w for w in loads if w in floor_bench.ENTRIES]
        for name in order if loads else []:
            if name in floor_bench.ENTRIES and floor_dsn is None:
                floor_dsn = floor_bench.dsn_of(stack)  # dropped at the end even if the start fails
                floor_bench.start(stack)
                time.sleep(1)
            results[name] = run_load(name, setup, stack)
            if name == "floor_event_rpc":
                results[name]["checked"] = floor_bench.check_events(floor_dsn)
            sys.stderr.write(f"{name}: {json.dumps(results[name])}\n")
        if loads:
            ceiling = results["rpc_ceiling"]["ops_per_s"]
            for entry in results.values():
                entry["ratio_to_rpc_ceiling"] = round(entry["ops_per_s"] / ceiling, 3) if ceiling else None
        if "history_page" in wanted:
            results["history_page"] = ledger.history_pages(stack, points, demo["shop_id"])
            sys.stderr.write(f"history_page: {json.dumps(results['history_page'])}\n")
        if "expire_1m_lots" in wanted:
            results["expire_1m_lots"] = ledger.expire_lots(stack, points, demo["shop_id"], lots=LOTS)
            sys.stderr.write(f"expire_1m_lots: {json.dumps(results['expire_1m_lots'])}\n")
        if "issue_1m_coupons" in wanted:
            rewards_component = next(c for c in launcher.COMPONENTS if c.name == "rewards")
            results["issue_1m_coupons"] = coupons_bench.issue_coupons(stack, rewards_component, demo["shop_id"])
            sys.stderr.write(f"issue_1m_coupons: {json.dumps(results['issue_1m_coupons'])}\n")
        if "notify_100k_line" in wanted:
            notifier = next(c for c in launcher.COMPONENTS if c.name == "notifier")
            results["notify_100k_line"] = notify_bench.notify_line(stack, notifier, demo["shop_id"])
            sys.stderr.write(f"notify_100k_line: {json.dumps(results['notify_100k_line'])}\n")
        members_component = next(c for c in launcher.COMPONENTS if c.name == "members")
        for name, rows, first in (("import_5k", 5000, 860000000), ("import_100k", 100_000, 861000000)):
            if name in wanted:
                results[name] = imports_bench.import_rows(stack, demo, rows, first)
                sys.stderr.write(f"{name}: {json.dumps(results[name])}\n")
        for name in ("member_auth_rpc", "otp_signin"):
            if name in wanted:
                results[name] = signin_bench.member_auth(stack, members_component, demo["shop_id"]) \
                    if name == "member_auth_rpc" else signin_bench.otp_signin(stack, demo["shop_id"])
                sys.stderr.write(f"{name}: {json.dumps(results[name])}\n")
        if "export_1m" in wanted:
            results["export_1m"] = imports_bench.export_members(stack, members_component, demo)
            sys.stderr.write(f"export_1m: {json.dumps(results['export_1m'])}\n")
        if "purge_shop_100k" in wanted:
            results["purge_shop_100k"] = privacy_bench.purge_shop(stack, members_component, points)
            sys.stderr.write(f"purge_shop_100k: {json.dumps(results['purge_shop_100k'])}\n")
        if "tier_cycle_1m" in wanted:
            results["tier_cycle_1m"] = tiers_bench.tier_cycle(stack, members_component)
            sys.stderr.write(f"tier_cycle_1m: {json.dumps(results['tier_cycle_1m'])}\n")
    finally:
        stack.stop()
        stack.drop_databases()
        if floor_dsn:
            floor_bench.stop(floor_dsn)
        launcher.delete_vhost(vhost)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    latest = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    latest.update(results)
    latest["_run"] = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
                      "entries": list(results)}
    RESULTS.write_text(json.dumps(latest, indent=2) + "\n")
    width = max(len(n) for n in results)
    lines = [f"{'entry':<{width}}  {'ops/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'ratio':>6}  other"]
    for name, r in results.items():
        other = {k: v for k, v in r.items()
                 if k in ("errors", "seconds", "lots", "coupons", "messages", "events_published_seconds")}
        lines.append(f"{name:<{width}}  {r.get('ops_per_s', ''):>9}  {r.get('p50_ms', ''):>8}  "
                     f"{r.get('p99_ms', ''):>8}  {r.get('ratio_to_rpc_ceiling', ''):>6}  {other}")
    sys.stdout.write("\n".join(lines) + f"\n\nwritten to {RESULTS}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
