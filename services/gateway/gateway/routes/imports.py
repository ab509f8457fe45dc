"""Member import (template, upload, progress and report) and export (members, tier history).

An upload is the file itself as the request body (any content type) or a
multipart form with a `file` field. The gateway sends it to the members service
in parts of PART_BYTES (one RPC each, base64), then starts the import with the
file's SHA-256; members joins the parts, checks the hash and owns every rule.

Exports are streamed: the CSV is written page by page (5,000 members per
members RPC, keyset by member id) as the client reads it; the XLSX is written
page by page with openpyxl's write-only mode into a temporary file, which is
then streamed. No process holds every member at once.
"""
import base64
import csv
import hashlib
import io
import os
import tempfile
import uuid

import eventlet
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from chassis import errors
from gateway import auth
from gateway import imports_contracts as ic
from gateway.auth import ADMIN, STAFF
from gateway.endpoints import Reply, endpoint

PART_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
IMPORT_TIMEOUT = 120  # a file of up to 5,000 rows is imported within the request
PAGE_TIMEOUT = 60
CHUNK_BYTES = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEMBER_COLUMNS = ("phone", "name", "gender", "birthday", "email", "status", "tier", "points_balance",
                  "lifetime_points", "tags")
TIER_COLUMNS = ("phone", "decided_at", "reason", "from_tier", "to_tier", "window_points", "window_start",
                "window_end", "settings_version")
FORMULA_START = ("=", "+", "-", "@")  # a text cell starting so is a formula to a spreadsheet


class RawRequest(DependencyProvider):
    """The werkzeug request of an HTTP worker: an upload's body is bytes, not JSON."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.args[0] if worker_ctx.args else None


def _upload(request, max_bytes):
    """(bytes, filename or None) of the uploaded file."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise errors.InvalidInput("import_file_too_large", f"the file is over {max_bytes // (1024 * 1024)} MB",
                                  {"file": [f"at most {max_bytes} bytes"]})
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise errors.InvalidInput("invalid_input", "send the file in a form field named 'file'",
                                      {"file": ["Missing data for required field."]})
        return upload.read(max_bytes + 1), upload.filename
    return request.get_data(cache=False), None


def _safe(value):
    """A cell as text; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "|".join(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) and not text[1:].isdigit() else text


def _member_row(member):
    return [member["phone"], *(_safe(member[c]) for c in MEMBER_COLUMNS[1:5]), member["status"],
            _safe(member["tier"]), member["points_balance"], member["lifetime_points"], _safe(member["tags"])]


def _tier_row(decision):
    return [decision["phone"], *(_safe(decision[c]) for c in TIER_COLUMNS[1:])]


def _csv_stream(columns, first_page, pages, to_row):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    for rows in _chain(first_page, pages):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(to_row(row) for row in rows)
        yield buffer.getvalue().encode("utf-8")


def _chain(first, rest):
    yield first
    yield from rest


def _xlsx_file(columns, first_page, pages, to_row, title):
    import openpyxl

    handle, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    try:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(title)
        sheet.append(list(columns))
        for rows in _chain(first_page, pages):
            for row in rows:
                sheet.append(to_row(row))
        book.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _opened_once(path):
    """The file opened and its name removed at once: nothing is left behind, however the
    download ends (the data goes when the handle closes)."""
    handle = open(path, "rb")
    os.unlink(path)
    return handle


def _file_stream(handle):
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def _download(body, mimetype, filename, length=None):
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if length is not None:
        headers["Content-Length"] = str(length)
    return Response(body, status=200, mimetype=mimetype, headers=headers, direct_passthrough=True)


class ImportRoutes:
    raw_request = RawRequest()

    def _pages(self, method, shop_id, after):
        """Pages after the first, fetched as the response is written: the next page is asked for
        while the current one is written out (members' query overlaps the gateway's writing)."""
        def fetch(after):
            return self.members.call(method, {"shop_id": shop_id, "after": after}, timeout=PAGE_TIMEOUT)

        pending = eventlet.spawn(fetch, after) if after is not None else None
        while pending is not None:
            page = pending.wait()
            pending = eventlet.spawn(fetch, page["next_after"]) if page["next_after"] is not None else None
            yield page["members"] if "members" in page else page["decisions"]

    def _export(self, method, key, shop_id, fmt, columns, to_row, name):
        first = self.members.call(method, {"shop_id": shop_id}, timeout=PAGE_TIMEOUT)
        pages = self._pages(method, shop_id, first["next_after"])
        if fmt == "csv":
            return _download(_csv_stream(columns, first[key], pages, to_row), "text/csv", f"{name}.csv")
        handle = _opened_once(_xlsx_file(columns, first[key], pages, to_row, name))
        return _download(_file_stream(handle), XLSX, f"{name}.xlsx", os.fstat(handle.fileno()).st_size)

    @endpoint("GET", "/shops/{shop_id}/members/import-template", summary="The member import template (CSV or XLSX)",
              roles=(ADMIN, STAFF), query=ic.FormatQuery, produces="text/csv", tag="members")
    def import_template(self, call, shop_id):
        """Columns phone* (required), name, points, gender (female, male, other, unspecified), birthday
        (YYYY-MM-DD or DD/MM/YYYY, Buddhist Era years accepted), email, tags (separated by `|`), and
        one example row."""
        template = self.members.call("import_template", {"format": call.query["format"]})
        body = base64.b64decode(template["body_base64"])
        return _download(body, template["content_type"].split(";")[0], template["filename"], len(body))

    @endpoint("POST", "/shops/{shop_id}/members/imports", summary="Import members from a CSV or XLSX file",
              roles=(ADMIN,), query=ic.UploadQuery, response=ic.ImportReport, tag="members")
    def upload_import(self, call, shop_id):
        """The body is the file (CSV UTF-8, with or without BOM, or XLSX), or a multipart form with
        a `file` field. Up to 5,000 rows: imported now, 200 with the report (each rejected row with
        its row number, column and reason). Larger: 202, the import runs in the background; GET it
        for progress. The same file again answers its import (`replayed`) and changes nothing: the
        file's SHA-256 is its idempotency key. 422: import_wrong_columns, import_not_utf8,
        import_file_empty, import_too_many_rows, import_not_a_spreadsheet, import_file_too_large."""
        # admins only: an import credits points, like an adjustment (a cashier must not mint points)
        branch_id = auth.sale_branch(call.principal, str(call.query["branch_id"]) if call.query["branch_id"]
                                     else None)
        data, filename = _upload(self.raw_request, int(self.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES))
        upload_id = str(uuid.uuid4())
        parts = [data[at:at + PART_BYTES] for at in range(0, len(data), PART_BYTES)] or [b""]
        for number, part in enumerate(parts):
            self.members.call("put_import_part", {"shop_id": shop_id, "upload_id": upload_id, "part": number,
                                                  "data": base64.b64encode(part).decode("ascii")})
        report = self.members.call("start_import", {
            "shop_id": shop_id, "upload_id": upload_id, "parts": len(parts),
            "sha256": hashlib.sha256(data).hexdigest(), "branch_id": branch_id,
            "filename": filename or call.query["filename"], "actor": call.principal.actor},
            timeout=IMPORT_TIMEOUT)
        if report["status"] in ("queued", "running"):
            return Reply(202, report)
        return report

    @endpoint("GET", "/shops/{shop_id}/members/imports", summary="The shop's latest imports",
              roles=(ADMIN, STAFF), query=ic.ImportListQuery, response=ic.ImportList, tag="members")
    def list_imports(self, call, shop_id):
        return self.members.call("list_imports", {"shop_id": shop_id, "limit": call.query["limit"]})

    @endpoint("GET", "/shops/{shop_id}/members/imports/{import_id}", summary="An import's progress and rejected rows",
              roles=(ADMIN, STAFF), query=ic.ImportQuery, response=ic.ImportReport, tag="members")
    def get_import(self, call, shop_id, import_id):
        """Rejected rows come in pages of errors_limit (1,000): pass errors_next_after_row as
        errors_after_row for the next."""
        return self.members.call("get_import", {"shop_id": shop_id, "import_id": import_id, **call.query})

    @endpoint("GET", "/shops/{shop_id}/members/export", summary="Every member of the shop as CSV or XLSX (streamed)",
              roles=(ADMIN,), query=ic.FormatQuery, produces="text/csv", tag="members")
    def export_members(self, call, shop_id):
        """Columns: phone, name, gender, birthday, email, status, tier, points_balance,
        lifetime_points, tags (separated by `|`). CSV is UTF-8 with a BOM."""
        return self._export("export_members_page", "members", shop_id, call.query["format"], MEMBER_COLUMNS,
                            _member_row, "members")

    @endpoint("GET", "/shops/{shop_id}/members/tier-history/export",
              summary="Every tier decision of the shop as CSV or XLSX (streamed)", roles=(ADMIN,),
              query=ic.FormatQuery, produces="text/csv", tag="members")
    def export_tier_history(self, call, shop_id):
        """Columns: phone, decided_at, reason (upgrade, cycle_end, tier_expired, settings_changed),
        from_tier, to_tier, window_points, window_start, window_end, settings_version."""
        return self._export("export_tier_history_page", "decisions", shop_id, call.query["format"], TIER_COLUMNS,
                            _tier_row, "tier-history")
