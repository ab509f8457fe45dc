"""One load-generating process: `concurrency` green threads calling as fast as answers come.

    python bench/load.py <target> --concurrency 20 --seconds 15 --warmup 2 --setup '<json>'
Targets: rpc_ceiling (echo.echo), earn_rpc (points.earn), earn_http (POST /sales on the gateway),
redeem_rpc (rewards.redeem: rewards + points), stamp_rpc (points.claim_stamps), floor_write_rpc and
floor_event_rpc (bench/floor/service.py: the least a value-creating write can cost here), floor_hop_rpc
(an RPC that calls a second service: the transport of a two-service operation).
Prints one JSON line: operations counted after the warm-up, their latencies, errors.
"""
import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

import chassis  # noqa: E402,F401 - silences the two known warnings

CUSTOMERS = 5000  # a shop's regular customers: most sales are repeat visits


def phone():
    return f"081{random.randrange(CUSTOMERS):07d}"


def redeem_request(setup):
    return lambda: {
        "idempotency_key": uuid.uuid4().hex, "shop_id": setup["shop_id"], "reward_id": setup["reward_id"],
        "phone": f"+6682{random.randrange(CUSTOMERS):07d}", "branch_id": setup["branch_id"],
        "actor": {"type": "staff", "id": "bench"}}


def rpc_caller(setup, service, method, make_request):
    proxy_context = ClusterRpcProxy({"AMQP_URI": setup["amqp_uri"]}, timeout=30)
    proxy = proxy_context.start()
    target = getattr(getattr(proxy, service), method)

    def call():
        target(make_request())

    return call, proxy_context.stop


def earn_request(setup):
    return lambda: {
        "idempotency_key": uuid.uuid4().hex, "shop_id": setup["shop_id"], "branch_id": setup["branch_id"],
        "phone": phone(), "amount": f"{random.randint(20, 2000)}.00", "actor": {"type": "staff", "id": "bench"}}


def http_caller(setup):
    host, port = setup["gateway"].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    path = f"/shops/{setup['shop_id']}/sales"

    def call():
        body = json.dumps({"phone": phone(), "amount": f"{random.randint(20, 2000)}.00"})
        conn.request("POST", path, body=body, headers={
            "Authorization": f"Bearer {setup['staff_key']}", "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        if reply.status != 201:
            raise RuntimeError(f"HTTP {reply.status}")

    return call, conn.close


def make_caller(target, setup):
    if target == "rpc_ceiling":
        return rpc_caller(setup, "echo", "echo", lambda: {"ping": 1})
    if target == "earn_rpc":
        return rpc_caller(setup, "points", "earn", earn_request(setup))
    if target == "redeem_rpc":
        return rpc_caller(setup, "rewards", "redeem", redeem_request(setup))
    if target == "stamp_rpc":
        import stamps_bench  # bench/stamps_bench.py
        return rpc_caller(setup, "points", "claim_stamps", stamps_bench.scan_request(setup, phone))
    if target == "floor_hop_rpc":
        return rpc_caller(setup, "floor", "hop", lambda: {"ping": 1})
    if target in ("floor_write_rpc", "floor_event_rpc"):  # bench/floor/service.py
        method = "write" if target == "floor_write_rpc" else "write_event"
        return rpc_caller(setup, "floor", method, lambda: {
            "idempotency_key": uuid.uuid4().hex, "shop_id": setup["shop_id"], "phone": phone(),
            "amount": random.randint(2000, 200000)})
    if target == "earn_http":
        return http_caller(setup)
    raise SystemExit(f"unknown target {target}")


def main():
    global CUSTOMERS
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--setup", required=True)
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    args = parser.parse_args()
    CUSTOMERS = args.customers
    setup = json.loads(args.setup)
    started = time.monotonic()
    measure_from, stop_at = started + args.warmup, started + args.warmup + args.seconds
    latencies, errors, done = [], [], [0]

    def worker():
        call, close = make_caller(args.target, setup)
        try:
            while True:
                begin = time.monotonic()
                if begin >= stop_at:
                    return
                try:
                    call()
                except Exception as exc:  # noqa: BLE001 - counted, not fatal
                    errors.append(type(exc).__name__)
                    continue
                done[0] += 1
                if begin >= measure_from:
                    latencies.append(time.monotonic() - begin)
        finally:
            close()

    pool = eventlet.GreenPool(args.concurrency)
    for _ in range(args.concurrency):
        pool.spawn(worker)
    pool.waitall()
    json.dump({"ops": len(latencies), "ops_total": done[0], "cpu_seconds": time.process_time(),
               "seconds": args.seconds, "latencies": latencies,
               "errors": len(errors), "error_kinds": sorted(set(errors))}, sys.stdout)


if __name__ == "__main__":
    main()
