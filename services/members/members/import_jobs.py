"""Running member imports: accepting a file, and working through it in chunks under a lease.

An import is one file of one shop (its SHA-256: the same file again is the same
import). Its rows are worked in chunks of CHUNK rows; a chunk is (1) its points,
credited through the points service's `credit_many`, idempotent per row
(`import:<sha256>:<row>`), then (2) one members transaction: the members, their
tags, the rejected rows, the `members.imported` event and the job's progress,
which only the lease holder may move, from where it stood. Chunk N+1's points are
credited while chunk N is committed (the two services work side by side); chunk
N+1 is committed only after its own credits answered. A worker that stops
(a crash, a restart) stops renewing its lease; the next one to claim the job
starts again at the first uncommitted chunk, and re-crediting that chunk's
points changes nothing. Functions of `as_of` (the claim), so a test or ops can
run the queue as of any time:

    python -m members.import_jobs --config services/members/config.yaml run --as-of 2026-12-01T00:00:00+07:00
"""
import argparse
import datetime
import hashlib
import json
import socket
import sys
import uuid
import zoneinfo

import psycopg

from chassis import errors as chassis_errors
from chassis import logs
from members import errors, import_contracts, import_store, imports

CHUNK = 1000  # rows per chunk: one credit_many call, one transaction, one members.imported event
LEASE_SECONDS = 60
MAX_ATTEMPTS = 5
CREDIT_TIMEOUT = 60
RETRIED = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)

log = logs.get_logger("members.imports")


class LeaseLost(Exception):
    """Another worker holds the job now (this one was too slow to renew its lease)."""


def now():
    return datetime.datetime.now(datetime.UTC)


def owner_name():
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def put_part(db, cmd):
    with db.transaction() as conn:
        import_store.shop_timezone(conn, cmd["shop_id"])
        import_store.put_part(conn, cmd["shop_id"], cmd["upload_id"], cmd["part"], cmd["data"])


def accept(db, outbox, cmd, max_rows, sync_rows=0, owner=None):
    """The import of the uploaded file: (import row, created). A file seen before in this shop
    is that import again. A file that cannot be imported at all is invalid_input naming why.
    A new file of at most `sync_rows` rows starts running under `owner`'s lease (the caller
    works it at once: the timer cannot take it in between). The file of a failed import is
    that import tried again (it resumes where it stopped)."""
    with db.connection() as conn:
        import_store.shop_timezone(conn, cmd["shop_id"])
        import_store.check_branch(conn, cmd["shop_id"], cmd["branch_id"])
        pieces = import_store.parts(conn, cmd["shop_id"], cmd["upload_id"])
    if [part for part, _ in pieces] != list(range(cmd["parts"])):
        raise errors.import_upload_incomplete(cmd["parts"], len(pieces))
    data = b"".join(piece for _, piece in pieces)
    digest = hashlib.sha256(data).hexdigest()
    if digest != cmd["sha256"]:
        raise errors.import_upload_corrupted()
    with db.connection() as conn:
        seen = import_store.by_hash(conn, cmd["shop_id"], digest)
    if seen is not None and seen["status"] != "failed":
        with db.transaction() as conn:
            import_store.drop_parts(conn, cmd["upload_id"])
        return seen, False
    try:
        table = imports.Table(data)
        total = table.count(max_rows)
    except imports.FileProblem as problem:
        raise errors.import_file_refused(problem) from None
    if seen is not None:  # it failed: the same file again tries it again, from where it stopped
        with db.transaction() as conn:
            again = import_store.retry(conn, seen["import_id"], data, owner if seen["total"] <= sync_rows else None,
                                       LEASE_SECONDS)
            import_store.drop_parts(conn, cmd["upload_id"])
            current = again or import_store.by_hash(conn, cmd["shop_id"], digest)
            if again is not None:
                outbox.add(conn, "members.import_started", 1, cmd["shop_id"],
                           import_contracts.IMPORT_STARTED.dump(again))
        return current, again is not None
    with db.transaction() as conn:
        job, created = import_store.insert_import(
            conn, import_id=uuid.uuid4(), shop_id=cmd["shop_id"], branch_id=cmd["branch_id"], file_sha256=digest,
            filename=cmd["filename"], format=table.format, actor=cmd["actor"], total=total, data=data,
            owner=owner if total <= sync_rows else None, lease=LEASE_SECONDS)
        import_store.drop_parts(conn, cmd["upload_id"])
        if created:
            outbox.add(conn, "members.import_started", 1, cmd["shop_id"], import_contracts.IMPORT_STARTED.dump(job))
    return job, created


def run_queue(db, points, outbox, as_of, import_id=None, owner=None):
    """Claim and work jobs (queued, or running with a lapsed lease as of `as_of`) until none is left
    (or just `import_id`). Returns {"imports": n, "rows": n}."""
    owner = owner or owner_name()
    worked = {"imports": 0, "rows": 0}
    while True:
        with db.transaction() as conn:
            job = import_store.claim(conn, owner, as_of, LEASE_SECONDS, import_id)
        if job is None:
            return worked
        worked["imports"] += 1
        worked["rows"] += work(db, points, outbox, job, owner)
        if import_id is not None:
            return worked


def work(db, points, outbox, job, owner):
    """Work one claimed job to its end (or until the lease is lost, or points cannot be reached).
    Returns the rows worked by this call."""
    from eventlet import sleep  # here: a CLI run imports this module before chassis quiets eventlet's warning

    if job["attempts"] > MAX_ATTEMPTS:
        _finish(db, outbox, job, owner, "failed", f"gave up after {MAX_ATTEMPTS} attempts")
        return 0
    start = job["processed"]
    try:
        with db.connection() as conn:
            data = import_store.file_of(conn, job["import_id"])
            tz = import_store.shop_timezone(conn, job["shop_id"])
        today = now().astimezone(zoneinfo.ZoneInfo(tz)).date()
        checker, chunk, done, pending = imports.Rows(today), [], start, None
        for index, (number, cells) in enumerate(imports.Table(data).rows()):
            member, problems = checker.check(number, cells)  # earlier rows too: phones already seen
            if index < start:
                continue
            chunk.append((number, member, problems))
            if len(chunk) == CHUNK:
                done, pending = _advance(db, points, outbox, job, owner, done, pending, chunk)
                chunk = []
                sleep(0)  # let the hub breathe between chunks (heartbeats, other calls)
        done, pending = _advance(db, points, outbox, job, owner, done, pending, chunk or None)
        done, _ = _advance(db, points, outbox, job, owner, done, pending, None)  # the last chunk
    except LeaseLost:
        log.warning("import_lease_lost", import_id=str(job["import_id"]))
        return 0
    except chassis_errors.Unavailable as exc:
        log.warning("import_paused", import_id=str(job["import_id"]), reason=exc.code)
        return 0
    except imports.FileProblem as problem:
        _finish(db, outbox, job, owner, "failed", problem.message)
        return 0
    except chassis_errors.ServiceError as exc:
        log.error("import_failed", import_id=str(job["import_id"]), code=exc.code, message=exc.message)
        _finish(db, outbox, job, owner, "failed", f"{exc.code}: {exc.message}")
        return done - start
    _finish(db, outbox, job, owner, "done")
    return done - start


def _finish(db, outbox, job, owner, status, failure=None):
    with db.transaction() as conn:
        finished = import_store.finish(conn, job["import_id"], owner, status, failure)
        if finished is not None:
            outbox.add(conn, "members.import_finished", 1, job["shop_id"],
                       import_contracts.IMPORT_FINISHED.dump(finished))
    if finished is not None:
        log.info("import_finished", import_id=str(job["import_id"]), status=status, total=finished["total"],
                 imported=finished["imported"], rejected=finished["rejected"])


def _advance(db, points, outbox, job, owner, processed, pending, chunk):
    """Start crediting `chunk`'s points and, while points works, commit the chunk before it
    (whose credits are made by then): the two services work side by side. Returns
    (rows processed, the chunk now pending)."""
    from eventlet import spawn

    credited = pending[1].wait() if pending is not None else None  # one credit in flight at a time
    started = (chunk, spawn(_credit, points, job, chunk)) if chunk else None
    if pending is not None:
        try:
            processed = _chunk(db, outbox, job, owner, processed, pending[0], credited)
        except BaseException:
            if started is not None:  # let the credit in flight end (its keys make it harmless)
                try:
                    started[1].wait()
                except Exception:  # noqa: BLE001 - the first failure is the one reported
                    pass
            raise
    return processed, started


def _credit(points, job, chunk):
    """The chunk's points through points.credit_many (idempotent per row). Returns the points."""
    credits = [{"key": f"import:{job['file_sha256']}:{m['row']}", "phone": m["phone"], "points": m["points"]}
               for _, m, _ in chunk if m is not None and m["points"] > 0]
    if credits:
        points.call("credit_many", {
            "shop_id": str(job["shop_id"]), "branch_id": str(job["branch_id"]) if job["branch_id"] else None,
            "source": "import", "reason": f"member import {job['filename'] or job['file_sha256'][:12]}",
            "actor": job["actor"], "credits": credits}, timeout=CREDIT_TIMEOUT)
    return sum(credit["points"] for credit in credits)


def _chunk(db, outbox, job, owner, processed, chunk, credited):
    """The chunk's points being credited, commit its members, rejected rows, event and progress."""
    good = [member for _, member, _ in chunk if member is not None]
    problems = [problem for _, _, found in chunk for problem in found]
    for member in good:
        member.setdefault("member_id", uuid.uuid4())
    actor = {**job["actor"], "import_id": str(job["import_id"])}  # who, in the members' history and tags
    for attempt in range(3):
        try:
            with db.transaction() as conn:
                written = import_store.upsert_members(conn, job["shop_id"], job["import_id"], actor, good)
                import_store.add_tags(conn, job["shop_id"], actor, good)
                import_store.insert_errors(conn, job["import_id"], problems)
                _publish_imported(conn, outbox, job, good, written)
                if not import_store.progress(conn, job["import_id"], owner, processed, len(chunk), len(good),
                                             len(chunk) - len(good), credited, LEASE_SECONDS):
                    raise LeaseLost()
            return processed + len(chunk)
        except chassis_errors.Unavailable as exc:  # the store turns psycopg's errors into Unavailable
            if attempt == 2 or not isinstance(exc.__context__, RETRIED):
                raise
            log.warning("import_chunk_retried", import_id=str(job["import_id"]), attempt=attempt + 1)
    return processed  # pragma: no cover - the loop returns or raises


def _publish_imported(conn, outbox, job, good, written):
    """members.imported: the chunk's members (one event per chunk of up to CHUNK rows)."""
    if not written:
        return
    rows = {member["phone"]: member for member in good}
    outbox.add(conn, "members.imported", 1, job["shop_id"], import_contracts.MEMBERS_IMPORTED.dump({
        "import_id": job["import_id"], "branch_id": job["branch_id"], "members": [{
            **member, "row": rows[member["phone"]]["row"], "points": rows[member["phone"]]["points"],
            "tags": rows[member["phone"]]["tags"]} for member in written]}))


def report(conn, job, replayed=False, after_row=0, limit=1000):
    """The import with its progress and a page of its rejected rows (row, column, reason)."""
    problems = import_store.errors_of(conn, job["import_id"], after_row, limit)
    return import_contracts.IMPORT_REPORT.dump({
        **job, "replayed": replayed, "errors": problems,
        "errors_total": import_store.error_count(conn, job["import_id"]),
        "errors_next_after_row": problems[-1]["row_no"] if len(problems) == limit else None})


def purge_uploads(db, as_of, hours=24):
    """Forget parts of uploads never started (the gateway gave up half way)."""
    with db.transaction() as conn:
        return import_store.purge_parts(conn, as_of - datetime.timedelta(hours=hours))


class _PointsByProxy:
    """What `RpcClient` gives a worker (`call(method, payload, timeout)`), over a standalone proxy."""

    def __init__(self, proxy):
        self.proxy = proxy

    def call(self, method, payload, timeout=None):
        from nameko.exceptions import RpcTimeout

        try:
            return getattr(self.proxy.points, method)(payload)
        except RpcTimeout:
            raise chassis_errors.Unavailable("service_timeout", "points did not answer in time") from None


def main(argv=None):
    from nameko.standalone.rpc import ClusterRpcProxy

    from chassis import config as config_module
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox

    parser = argparse.ArgumentParser(description="member imports, run as of a given time")
    parser.add_argument("--config", required=True)
    parser.add_argument("job", choices=["run"])
    parser.add_argument("--as-of", type=datetime.datetime.fromisoformat, default=now())
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone (e.g. 2026-12-01T00:00:00+07:00)")
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
    try:
        with ClusterRpcProxy(config, timeout=CREDIT_TIMEOUT) as proxy:
            result = run_queue(Store(pool), _PointsByProxy(proxy), WorkerOutbox({}), args.as_of)
    finally:
        pool.close()
    log.info("imports_run", **result)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
