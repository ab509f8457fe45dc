"""Start the floor bench's processes (bench/floor/service.py) beside a running stack."""
import pathlib
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLOOR = ROOT / "bench" / "floor"
ENTRIES = ("floor_write_rpc", "floor_event_rpc", "floor_hop_rpc")


def dsn_of(stack):
    return f"{stack.pg_server}/{stack.db_prefix}_floor"


def start(stack):
    """Create and migrate the floor database (`dsn_of`; drop it with `stop`), declare the
    sink's queues, start the floor service, its relay and the sink."""
    dsn = dsn_of(stack)
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


def check_events(dsn, timeout=60):
    """After `floor_event_rpc`: every write's event published and recorded by both consumers,
    or the entry measured less work than it claims. Returns the figures checked."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            writes, unsent, consumed = conn.execute(
                "SELECT (SELECT count(*) FROM writes), (SELECT count(*) FROM outbox WHERE published_at IS NULL), "
                "(SELECT count(*) FROM inbox WHERE handler LIKE 'floorsink.%%')").fetchone()
            if unsent == 0 and consumed == 2 * writes:
                return {"writes": writes, "events_consumed": consumed}
            if time.monotonic() > deadline:
                raise RuntimeError(f"floor events not all consumed: {writes} writes, {unsent} unpublished, "
                                   f"{consumed} inbox rows (expected {2 * writes})")
            time.sleep(0.5)


def stop(dsn):
    from chassis import migrate

    migrate.drop_database(dsn)  # nothing if it was never created
