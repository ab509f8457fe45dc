"""Member import and export against PostgreSQL and RabbitMQ; the points service is a fake that
keeps the credits it was sent, once per key (what points.credit_many promises)."""
import base64
import datetime
import hashlib
import uuid

import pytest
from nameko.rpc import rpc
from nameko.testing.utils import find_free_port

from chassis import errors
from chassis.testing import service_config, wait_for

from .conftest import key

HEADER = "phone*,name,points,gender,birthday,email,tags\r\n"


class FakePoints:
    name = "points"
    credits = {}
    calls = []
    fail_after = None  # raise (after recording) once this many calls were made: a reply lost
    refuse = False  # refuse every call (a bug, a contract broken): the import fails

    @rpc(expected_exceptions=errors.EXPECTED)
    def credit_many(self, request):
        FakePoints.calls.append(request)
        if FakePoints.refuse:
            raise errors.Conflict("idempotency_key_reused", "this idempotency key was already used")
        fresh = [c for c in request["credits"] if c["key"] not in FakePoints.credits]
        for credit in fresh:
            FakePoints.credits[credit["key"]] = (credit["phone"], credit["points"])
        if FakePoints.fail_after is not None and len(FakePoints.calls) >= FakePoints.fail_after:
            FakePoints.fail_after = None
            raise errors.Unavailable("service_timeout", "points did not answer in time")
        return {"credited": len(fresh), "replayed": len(request["credits"]) - len(fresh),
                "points": sum(c["points"] for c in fresh), "results": []}


@pytest.fixture
def config(rabbit_config, dsn):
    return service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}",
                          IMPORT_MAX_ROWS=20, IMPORT_SYNC_ROWS=10)


@pytest.fixture
def points(container_factory, config):
    FakePoints.credits, FakePoints.calls, FakePoints.fail_after, FakePoints.refuse = {}, [], None, False
    container_factory(FakePoints, config).start()
    return FakePoints


@pytest.fixture
def branch(members, shop, points):
    return members.create_branch({"idempotency_key": key(), "shop_id": shop["shop"]["shop_id"], "name": "Siam"})


def upload(members, shop_id, branch_id, data, part_size=None, **extra):
    data = data.encode() if isinstance(data, str) else data
    upload_id, size = str(uuid.uuid4()), part_size or max(len(data), 1)
    pieces = [data[at:at + size] for at in range(0, len(data), size)] or [b""]
    for number, piece in enumerate(pieces):
        members.put_import_part({"shop_id": shop_id, "upload_id": upload_id, "part": number,
                                 "data": base64.b64encode(piece).decode()})
    return members.start_import({"shop_id": shop_id, "upload_id": upload_id, "parts": len(pieces),
                                 "sha256": hashlib.sha256(data).hexdigest(), "branch_id": branch_id,
                                 "filename": "members.csv", "actor": {"type": "admin", "id": "key-1"}, **extra})


def count(db, table, where="true"):
    return db.execute(f"SELECT count(*) AS n FROM {table} WHERE {where}").fetchone()["n"]


def test_a_small_file_is_imported_in_the_request_with_each_bad_row_reported(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    data = (HEADER + "0812345678,Somchai,100,male,1990-04-01,s@example.com,vip|office worker\r\n"
            "12345,Bad Phone,5,,,,\r\n"
            "0899999999,Nok,,หญิง,31/01/2533,,\r\n"
            "0811111111,Dup,1,,,,\r\n"
            "081-111-1111,Dup again,1,,2999-01-01,,\r\n")
    report = upload(members, shop_id, branch["branch_id"], data)

    assert (report["status"], report["total"], report["imported"], report["rejected"]) == ("done", 5, 3, 2)
    assert report["points_credited"] == 101 and report["replayed"] is False
    assert report["errors"] == [
        {"row": 3, "column": "phone", "reason": "not a valid phone number"},
        {"row": 6, "column": "birthday", "reason": "must be a date between 1900 and today"},
        {"row": 6, "column": "phone", "reason": "this phone is already on row 5"}]
    somchai = db.execute("SELECT * FROM members WHERE phone = '+66812345678'").fetchone()
    assert (somchai["status"], somchai["registered_via"], somchai["name"], somchai["gender"]) == (
        "imported", "import", "Somchai", "male")
    assert somchai["birthday"] == datetime.date(1990, 4, 1) and somchai["email"] == "s@example.com"
    nok = db.execute("SELECT * FROM members WHERE phone = '+66899999999'").fetchone()
    assert (nok["gender"], nok["birthday"]) == ("female", datetime.date(1990, 1, 31))
    tags = db.execute("SELECT tag FROM member_tags WHERE member_id = %s ORDER BY tag", (somchai["member_id"],))
    assert [t["tag"] for t in tags] == ["office worker", "vip"]
    sha = hashlib.sha256(data.encode()).hexdigest()
    assert points.credits == {f"import:{sha}:2": ("+66812345678", 100), f"import:{sha}:5": ("+66811111111", 1)}
    assert points.calls[0]["branch_id"] == branch["branch_id"] and points.calls[0]["source"] == "import"
    imported = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'imported.v1'").fetchone()["envelope"]
    assert sorted(m["phone"] for m in imported["data"]["members"]) == ["+66811111111", "+66812345678",
                                                                        "+66899999999"]
    started = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'import_started.v1'").fetchone()
    assert started["envelope"]["data"]["total"] == 5 and started["envelope"]["data"]["file_sha256"] == sha
    assert started["envelope"]["data"]["actor"] == {"type": "admin", "id": "key-1"}
    finished = db.execute("SELECT envelope FROM outbox WHERE routing_key = 'import_finished.v1'").fetchone()
    assert finished["envelope"]["data"]["imported"] == 3 and finished["envelope"]["data"]["status"] == "done"
    assert count(db, "member_changes", "kind = 'updated'") == 3
    assert count(db, "import_files") == 0 and count(db, "import_uploads") == 0


def test_the_same_file_again_is_the_same_import_and_changes_nothing(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    data = HEADER + "0812345678,Somchai,100,,,,vip\r\n0899999999,Nok,20,,,,\r\n"
    first = upload(members, shop_id, branch["branch_id"], data)
    outbox_rows = count(db, "outbox")
    again = upload(members, shop_id, branch["branch_id"], data, part_size=7)

    assert again["replayed"] is True and again["import_id"] == first["import_id"]
    assert len(points.calls) == 1 and count(db, "outbox") == outbox_rows
    assert count(db, "members") == 2 and count(db, "imports") == 1 and count(db, "import_uploads") == 0


def test_a_registered_members_profile_is_kept_and_a_phone_only_member_becomes_imported(
        members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    db.execute("""INSERT INTO members (member_id, shop_id, phone, status, name, email, consent_version, consented_at,
                                       registered_at, registered_via)
                  VALUES (%s, %s, '+66812345678', 'registered', 'Real Name', 'me@example.com', 'v1', now(), now(),
                          'member')""", (uuid.uuid4(), shop_id))
    db.execute("INSERT INTO members (member_id, shop_id, phone, points_balance) VALUES (%s, %s, '+66899999999', 7)",
               (uuid.uuid4(), shop_id))
    upload(members, shop_id, branch["branch_id"],
           HEADER + "0812345678,File Name,10,male,,file@example.com,vip\r\n0899999999,Nok,5,,,,\r\n")

    registered = db.execute("SELECT * FROM members WHERE phone = '+66812345678'").fetchone()
    assert (registered["status"], registered["name"], registered["email"], registered["gender"]) == (
        "registered", "Real Name", "me@example.com", None)
    assert count(db, "member_tags", f"member_id = '{registered['member_id']}'") == 1
    claimed = db.execute("SELECT * FROM members WHERE phone = '+66899999999'").fetchone()
    assert (claimed["status"], claimed["name"], claimed["points_balance"]) == ("imported", "Nok", 7)
    assert len(points.credits) == 2  # the file's points are credited to both


@pytest.mark.parametrize("data, code, field", [
    ("name,telephone\r\nNok,0812345678\r\n", "import_wrong_columns", "columns"),
    ((HEADER + "0812345678,สมชาย,1,,,,\r\n").encode("cp874"), "import_not_utf8", "file"),
    (b"", "import_file_empty", "file"),
    (HEADER, "import_file_empty", "file"),
    (HEADER + "".join(f"08123450{n:02d},,,,,,\r\n" for n in range(21)), "import_too_many_rows", "file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "import_not_a_spreadsheet", "file"),
])
def test_a_file_that_cannot_be_imported_is_refused_and_nothing_is_written(
        members, shop, branch, db, points, data, code, field):
    with pytest.raises(errors.InvalidInput) as caught:
        upload(members, shop["shop"]["shop_id"], branch["branch_id"], data)
    assert caught.value.code == code and field in caught.value.fields
    assert count(db, "imports") == 0 and count(db, "members") == 0 and points.calls == []


def test_an_upload_with_a_missing_part_or_another_hash_is_refused(members, shop, branch):
    shop_id, upload_id = shop["shop"]["shop_id"], str(uuid.uuid4())
    members.put_import_part({"shop_id": shop_id, "upload_id": upload_id, "part": 0,
                             "data": base64.b64encode(HEADER.encode()).decode()})
    start = {"shop_id": shop_id, "upload_id": upload_id, "parts": 2, "sha256": "0" * 64,
             "branch_id": branch["branch_id"], "actor": {"type": "admin", "id": "k"}}
    with pytest.raises(errors.InvalidInput) as caught:
        members.start_import(start)
    assert caught.value.code == "import_upload_incomplete"
    with pytest.raises(errors.InvalidInput) as caught:
        members.start_import({**start, "parts": 1})
    assert caught.value.code == "import_upload_corrupted"
    with pytest.raises(errors.NotFound):
        members.start_import({**start, "parts": 1, "branch_id": str(uuid.uuid4())})
    with pytest.raises(errors.InvalidInput) as caught:
        members.put_import_part({"shop_id": shop_id, "upload_id": upload_id, "part": 1, "data": "%%%"})
    assert "data" in caught.value.fields


def test_a_large_file_runs_as_a_job_and_reports_its_progress(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    rows = "".join(f"08123450{n:02d},Member {n},{n},,,,\r\n" for n in range(15))
    queued = upload(members, shop_id, branch["branch_id"], HEADER + rows + "bad,,,,,,\r\n")
    assert queued["status"] in ("queued", "running") and queued["total"] == 16

    done = wait_for(lambda: (r := members.get_import({"shop_id": shop_id, "import_id": queued["import_id"]}))
                    ["status"] == "done" and r)
    assert (done["processed"], done["imported"], done["rejected"]) == (16, 15, 1)
    assert done["errors"] == [{"row": 17, "column": "phone", "reason": "not a phone number (The string supplied "
                                                                       "did not seem to be a phone number.)"}]
    assert count(db, "members", "status = 'imported'") == 15
    listed = members.list_imports({"shop_id": shop_id})["imports"]
    assert [i["import_id"] for i in listed] == [queued["import_id"]]


def test_a_job_whose_worker_stopped_resumes_and_credits_each_row_once(members, shop, branch, db, points, monkeypatch):
    from members import import_jobs

    monkeypatch.setattr(import_jobs, "CHUNK", 4)
    points.fail_after = 2  # the second chunk's credits are made, but its answer never comes back
    shop_id = shop["shop"]["shop_id"]
    queued = upload(members, shop_id, branch["branch_id"],
                    HEADER + "".join(f"08123450{n:02d},,10,,,,\r\n" for n in range(12)))
    job = wait_for(lambda: (r := db.execute("SELECT * FROM imports").fetchone())["processed"] == 4
                   and len(points.calls) == 2 and r)
    assert job["status"] == "running"  # paused: its lease runs out, nobody finishes it before then
    assert members.run_imports({})["imports"] == 0

    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2)).isoformat()
    members.run_imports({"as_of": later})
    done = members.get_import({"shop_id": shop_id, "import_id": queued["import_id"]})
    assert (done["status"], done["processed"], done["imported"], done["points_credited"]) == ("done", 12, 12, 120)
    assert len(points.credits) == 12 and sum(p for _, p in points.credits.values()) == 120
    sent = [c["key"] for call in points.calls for c in call["credits"]]
    assert len(sent) == 16  # the second chunk was sent twice; its keys made it count once
    assert count(db, "members") == 12 and count(db, "member_changes") == 12
    assert members.run_imports({"as_of": later}) == {"imports": 0, "rows": 0}


def test_an_import_of_another_shop_is_not_found(members, shop, branch, points):
    queued = upload(members, shop["shop"]["shop_id"], branch["branch_id"], HEADER + "0812345678,,,,,,\r\n")
    other = members.create_shop({"idempotency_key": key(), "name": "Other"})["shop"]["shop_id"]
    with pytest.raises(errors.NotFound) as caught:
        members.get_import({"shop_id": other, "import_id": queued["import_id"]})
    assert caught.value.code == "import_not_found"


def test_members_are_exported_page_by_page_with_tier_balance_and_tags(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    upload(members, shop_id, branch["branch_id"],
           HEADER + "".join(f"08123450{n:02d},Member {n},,,,,t{n % 2}|all\r\n" for n in range(5)))
    tier_id = uuid.uuid4()
    db.execute("INSERT INTO tiers (tier_id, shop_id, position, name, threshold, version) "
               "VALUES (%s, %s, 1, 'Gold', 1000, 1)", (tier_id, shop_id))
    db.execute("UPDATE members SET tier_id = %s, points_balance = 1500, lifetime_points = 2000 "
               "WHERE phone = '+66812345000'", (tier_id,))
    seen, after = [], None
    while True:
        page = members.export_members_page({"shop_id": shop_id, "after": after, "limit": 2})
        seen.extend(page["members"])
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == 5 and len({m["member_id"] for m in seen}) == 5
    assert [m["member_id"] for m in seen] == sorted(m["member_id"] for m in seen)
    gold = next(m for m in seen if m["phone"] == "+66812345000")
    assert (gold["tier"], gold["points_balance"], gold["lifetime_points"], gold["tags"]) == (
        "Gold", 1500, 2000, ["all", "t0"])
    assert gold["status"] == "imported" and gold["name"] == "Member 0"


def test_tier_history_is_exported_page_by_page(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    upload(members, shop_id, branch["branch_id"], HEADER + "0812345678,,,,,,\r\n")
    member_id = db.execute("SELECT member_id FROM members").fetchone()["member_id"]
    for reason in ("upgrade", "cycle_end", "upgrade"):
        db.execute("INSERT INTO tier_decisions (member_id, shop_id, decided_at, reason, to_tier, window_points, "
                   "window_start, window_end, settings_version) VALUES (%s, %s, now(), %s, 'Gold', 1000, "
                   "'2026-10-01', '2026-11-01', 1)", (member_id, shop_id, reason))
    first = members.export_tier_history_page({"shop_id": shop_id, "limit": 2})
    rest = members.export_tier_history_page({"shop_id": shop_id, "after": first["next_after"], "limit": 2})
    assert [d["reason"] for d in first["decisions"] + rest["decisions"]] == ["upgrade", "cycle_end", "upgrade"]
    assert rest["next_after"] is None and first["decisions"][0]["phone"] == "+66812345678"


def test_the_templates_are_served(members):
    csv_template = members.import_template({"format": "csv"})
    assert csv_template["filename"] == "member-template.csv"
    assert base64.b64decode(csv_template["body_base64"]).startswith(b"\xef\xbb\xbfphone*,name,points")
    xlsx = members.import_template({"format": "xlsx"})
    assert base64.b64decode(xlsx["body_base64"]).startswith(b"PK\x03\x04")
    with pytest.raises(errors.InvalidInput):
        members.import_template({"format": "pdf"})


def test_the_command_line_resumes_a_stopped_job_as_of_a_time(
        members, shop, branch, db, points, monkeypatch, config, dsn, tmp_path, capsys):
    import json

    import yaml

    from members import import_jobs

    monkeypatch.setattr(import_jobs, "CHUNK", 4)
    points.fail_after = 1
    shop_id = shop["shop"]["shop_id"]
    queued = upload(members, shop_id, branch["branch_id"],
                    HEADER + "".join(f"08123450{n:02d},,5,,,,\r\n" for n in range(12)))
    wait_for(lambda: len(points.calls) == 1 and db.execute("SELECT status FROM imports").fetchone()["status"]
             == "running")
    settings = tmp_path / "members.yaml"
    settings.write_text(yaml.safe_dump({"AMQP_URI": config["AMQP_URI"], "DB": {"DSN": dsn}, "LOG_LEVEL": "WARNING"}))
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2)).isoformat()

    import_jobs.main(["--config", str(settings), "run", "--as-of", later])

    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"imports": 1, "rows": 12}
    done = members.get_import({"shop_id": shop_id, "import_id": queued["import_id"]})
    assert (done["status"], done["imported"], done["points_credited"]) == ("done", 12, 60)
    assert len(points.credits) == 12


def test_a_failed_import_is_tried_again_when_its_file_comes_again(members, shop, branch, db, points):
    shop_id = shop["shop"]["shop_id"]
    data = HEADER + "0812345678,Nok,10,,,,\r\n0899999999,Ann,20,,,,\r\n"
    points.refuse = True
    failed = upload(members, shop_id, branch["branch_id"], data)
    assert (failed["status"], failed["imported"]) == ("failed", 0)
    assert failed["failure"].startswith("idempotency_key_reused")
    assert db.execute("SELECT envelope FROM outbox WHERE routing_key = 'import_finished.v1'").fetchone()[
        "envelope"]["data"]["status"] == "failed"

    points.refuse = False
    again = upload(members, shop_id, branch["branch_id"], data)
    assert again["import_id"] == failed["import_id"] and again["replayed"] is False
    assert (again["status"], again["imported"], again["points_credited"], again["failure"]) == ("done", 2, 30, None)
    assert count(db, "members") == 2 and count(db, "import_files") == 0


def test_the_same_file_uploaded_twice_at_once_is_one_import(members, shop, branch, db, points, config):
    import eventlet
    from nameko.standalone.rpc import ServiceRpcProxy

    shop_id = shop["shop"]["shop_id"]
    data = HEADER + "".join(f"08123450{n:02d},,1,,,,\r\n" for n in range(8))

    def send():
        with ServiceRpcProxy("members", config, timeout=30) as proxy:
            return upload(proxy, shop_id, branch["branch_id"], data)

    reports = [thread.wait() for thread in [eventlet.spawn(send) for _ in range(3)]]
    assert len({r["import_id"] for r in reports}) == 1
    assert sorted(r["replayed"] for r in reports) == [False, True, True]
    done = wait_for(lambda: (r := members.get_import({"shop_id": shop_id, "import_id": reports[0]["import_id"]}))
                    ["status"] == "done" and r)
    assert done["imported"] == 8 and len(points.credits) == 8 and count(db, "imports") == 1
