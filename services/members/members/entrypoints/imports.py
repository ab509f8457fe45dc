"""Member import (template, upload in parts, the job and its report) and export pages."""
from nameko.rpc import rpc
from nameko.timer import timer

from chassis.errors import load
from chassis.rpc import RpcClient
from members import errors, exports, import_contracts, import_jobs, import_store

DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_SYNC_ROWS = 5000  # files up to this many rows are imported within the request


class Imports:
    points = RpcClient("points")

    def _setting(self, name, default):
        return int(self.config.get(name) or default)

    @rpc(expected_exceptions=errors.EXPECTED)
    def import_template(self, request=None):
        """member-template.csv or .xlsx (`format`): the columns and one example row, as base64."""
        cmd = load(import_contracts.Template(), request or {})
        return exports.template(cmd["format"])

    @rpc(expected_exceptions=errors.EXPECTED)
    def put_import_part(self, request):
        """Store one part (base64, up to 8 MB) of a file being uploaded; the same part again
        replaces it. Errors: shop_not_found, invalid_input."""
        cmd = load(import_contracts.PUT_IMPORT_PART, request)
        import_jobs.put_part(self.db, cmd)
        return {"upload_id": str(cmd["upload_id"]), "part": cmd["part"], "bytes": len(cmd["data"])}

    @rpc(expected_exceptions=errors.EXPECTED)
    def start_import(self, request):
        """Import the uploaded file (its parts joined and checked against `sha256`) at `branch_id`.
        Idempotent on the file: the same file again in this shop answers that import
        (`replayed: true`) and changes nothing. Up to IMPORT_SYNC_ROWS rows (5,000) the import
        runs now and the answer is its report (`status: done`); a larger file is queued and the
        answer is its progress (poll get_import). Errors: import_wrong_columns, import_not_utf8,
        import_file_empty, import_too_many_rows (IMPORT_MAX_ROWS), import_not_a_spreadsheet,
        import_upload_incomplete, import_upload_corrupted, shop_not_found, branch_not_found.
        Events: members.import_started, members.imported (per chunk of 1,000 rows),
        members.import_finished; points are credited through points.credit_many."""
        cmd = load(import_contracts.START_IMPORT, request)
        owner = import_jobs.owner_name()
        job, created = import_jobs.accept(self.db, self.outbox, cmd,
                                          self._setting("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS),
                                          self._setting("IMPORT_SYNC_ROWS", DEFAULT_SYNC_ROWS), owner)
        if created and job["status"] == "running":
            import_jobs.work(self.db, self.points, self.outbox, job, owner)
        with self.db.connection() as conn:
            job = import_store.get_import(conn, cmd["shop_id"], job["import_id"])
            return import_jobs.report(conn, job, replayed=not created)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_import(self, request):
        """An import's progress and its rejected rows from `errors_after_row` (a page of
        `errors_limit`). Errors: import_not_found."""
        cmd = load(import_contracts.IMPORT_REF, request)
        with self.db.connection() as conn:
            job = import_store.get_import(conn, cmd["shop_id"], cmd["import_id"])
            return import_jobs.report(conn, job, after_row=cmd["errors_after_row"], limit=cmd["errors_limit"])

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_imports(self, request):
        """The shop's latest imports, newest first."""
        cmd = load(import_contracts.ListImports(), request)
        with self.db.connection() as conn:
            rows = import_store.list_imports(conn, cmd["shop_id"], cmd["limit"])
        return import_contracts.ImportList().dump({"imports": rows})

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_imports(self, request=None):
        """Work every queued import, and every running one whose lease lapsed before `as_of`
        (default now): a job whose worker stopped resumes at its first uncommitted chunk. Safe
        to run twice and beside the timer (a job has one lease holder)."""
        as_of = load(import_contracts.AsOf(), request or {})["as_of"] or import_jobs.now()
        return import_jobs.run_queue(self.db, self.points, self.outbox, as_of)

    @timer(interval=2)
    def import_timer(self):
        """Every 2 s: work the import queue (one runner per database: an advisory lock), and forget
        uploads never started after a day."""
        with self.db.connection() as guard:
            if not import_store.try_lock(guard, "members.imports"):
                return
            try:
                now = import_jobs.now()
                worked = import_jobs.run_queue(self.db, self.points, self.outbox, now)
                purged = import_jobs.purge_uploads(self.db, now)
            finally:
                import_store.unlock(guard, "members.imports")
        if worked["imports"] or purged:
            self.log.info("imports_run", purged_uploads=purged, **worked)

    @rpc(expected_exceptions=errors.EXPECTED)
    def export_members_page(self, request):
        """Up to `limit` (5,000) members after member id `after`, in member id order: phone, name,
        gender, birthday, email, status, tier, points_balance, lifetime_points, tags. `next_after`
        is null on the last page."""
        cmd = load(import_contracts.ExportPage(), request)
        with self.db.connection() as conn:
            return exports.members_page(conn, cmd)

    @rpc(expected_exceptions=errors.EXPECTED)
    def export_tier_history_page(self, request):
        """Up to `limit` tier decisions after decision id `after`, oldest first, with the member's phone."""
        cmd = load(import_contracts.TierHistoryPage(), request)
        with self.db.connection() as conn:
            return exports.tier_history_page(conn, cmd)
