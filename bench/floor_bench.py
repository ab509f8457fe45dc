"""Start the floor bench's processes (bench/floor/service.py) beside a running stack."""
import pathlib
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLOOR = ROOT / "bench" / "floor"
ENTRIES = ("floor_write_rpc", "floor_event_rpc", "floor_hop_rpc")


def start(stack):
    """Create and migrate the floor database, declare the sink's queues, start the floor
    service, its relay and the sink. Returns the database DSN (drop it with `stop`)."""
    dsn = f"{stack.pg_server}/{stack.db_prefix}_floor"
    addresses = {"FLOOR_HTTP": f"127.0.0.1:{stack.http_base + 20}",
                 "FLOORSINK_HTTP": f"127.0.0.1:{stack.http_base + 21}"}
    stack.extra_env.update({"FLOOR_DB_DSN": dsn, **addresses})
    stack._run("-m", "chassis.migrate", "--config", str(FLOOR / "floor.yaml"),
               "--migrations", str(FLOOR / "migrations"))
    stack._run("-m", "chassis.topology", "--config", str(FLOOR / "floorsink.yaml"), "bench.floor.service:FloorSink")
    for name, config, cls in (("floor", "floor.yaml", "FloorService"), ("floorsink", "floorsink.yaml", "FloorSink")):
        stack._spawn(name, ["-m", "chassis.run", "run", "--config", str(FLOOR / config),
                            f"bench.floor.service:{cls}"])
    stack._spawn("floor-relay", ["-m", "chassis.relay", "--config", str(FLOOR / "floor.yaml")])
    deadline = time.monotonic() + 60
    for address in addresses.values():
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}/healthz", timeout=3) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"floor process at {address} did not come up (logs in {stack.log_dir})")
            time.sleep(0.3)
    return dsn


def stop(dsn):
    from chassis import migrate

    migrate.drop_database(dsn)
