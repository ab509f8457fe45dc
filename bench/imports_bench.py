"""Member import and export bench entries, through the gateway's HTTP routes (end to end).

import_5k: a CSV of 5,000 members (each with points, a birthday, an email and two tags) POSTed
to /shops/{id}/members/imports; timed from the request to its answer (the import is done in
the request: members written, points credited through points.credit_many).

import_100k: the same with 100,000 rows: the POST answers 202 and the import runs as a job;
timed from the request until GET /imports/{id} says done.

export_1m: 1,000,000 members put straight into the members database (SQL), then
GET /shops/{id}/members/export?format=csv read to the end as it streams; peak_rss_mb is the
gateway process's peak resident set size during the export (its peak is reset first through
/proc/<pid>/clear_refs), the process that pages through members and writes the CSV.
"""
import csv
import io
import time

import httpx
import psycopg

SEED_MEMBERS = """
INSERT INTO members (member_id, shop_id, phone, status, name, gender, birthday, email, points_balance,
                     lifetime_points, registered_via)
SELECT gen_random_uuid(), %(shop)s, '+6687' || lpad(n::text, 7, '0'), 'imported', 'Member ' || n,
       (ARRAY['female', 'male', 'other', 'unspecified'])[1 + n %% 4], DATE '1970-01-01' + (n %% 15000),
       'm' || n || '@example.com', n %% 5000, n %% 9000, 'import'
FROM generate_series(0, %(count)s - 1) AS n
"""
SEED_TAGS = """
INSERT INTO member_tags (member_id, shop_id, tag, added_by)
SELECT member_id, shop_id, 'vip', '{"type": "system"}'::jsonb FROM members
WHERE shop_id = %(shop)s AND phone LIKE '+6687%%' AND right(phone, 1) = '7'
"""


def members_csv(count, first=860000000):
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["phone*", "name", "points", "gender", "birthday", "email", "tags"])
    for n in range(count):
        writer.writerow([f"0{first + n}", f"Member {n}", 10 + n % 100, ("female", "male")[n % 2],
                         f"19{70 + n % 30}-0{1 + n % 9}-1{n % 10}", f"member{n}@example.com", "imported|bench"])
    return out.getvalue().encode("utf-8")


def _upload(client, demo, data, name):
    return client.post(f"/shops/{demo['shop_id']}/members/imports",
                       params={"branch_id": demo["branch_id"], "filename": name}, content=data,
                       headers={"Authorization": f"Bearer {demo['admin']}", "Content-Type": "text/csv"})


def import_rows(stack, demo, count, first):
    data = members_csv(count, first)
    with httpx.Client(base_url=stack.gateway_url, timeout=600) as client:
        started = time.perf_counter()
        reply = _upload(client, demo, data, f"bench-{count}.csv")
        assert reply.status_code in (200, 202), reply.text
        report = reply.json()
        answered = time.perf_counter() - started
        while report["status"] in ("queued", "running"):
            time.sleep(0.2)
            report = client.get(f"/shops/{demo['shop_id']}/members/imports/{report['import_id']}",
                                headers={"Authorization": f"Bearer {demo['admin']}"}).json()
        seconds = time.perf_counter() - started
    assert report["status"] == "done" and report["imported"] == count, report
    return {"seconds": round(seconds, 2), "rows": count, "rows_per_s": round(count / seconds),
            "answered_seconds": round(answered, 2), "http_status": reply.status_code, "file_bytes": len(data),
            "points_credited": report["points_credited"]}


def _peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def export_members(stack, members_component, demo, count=1_000_000):
    with psycopg.connect(stack.dsn(members_component), autocommit=True) as conn:
        conn.execute(SEED_MEMBERS, {"shop": demo["shop_id"], "count": count})
        conn.execute(SEED_TAGS, {"shop": demo["shop_id"]})
        conn.execute("ANALYZE members")
        total = conn.execute("SELECT count(*) FROM members WHERE shop_id = %s", (demo["shop_id"],)).fetchone()[0]
    gateway_pid = stack.processes["gateway"].pid
    with open(f"/proc/{gateway_pid}/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak RSS: what follows is the export's alone
    before = _peak_rss_mb(gateway_pid)
    rows, size = 0, 0
    with httpx.Client(base_url=stack.gateway_url, timeout=600) as client:
        started = time.perf_counter()
        first_byte = None
        with client.stream("GET", f"/shops/{demo['shop_id']}/members/export", params={"format": "csv"},
                           headers={"Authorization": f"Bearer {demo['admin']}"}) as reply:
            assert reply.status_code == 200, reply.read()
            for chunk in reply.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                rows += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
    assert rows - 1 == total, (rows, total)
    return {"seconds": round(seconds, 2), "rows": rows - 1, "rows_per_s": round((rows - 1) / seconds),
            "bytes": size, "first_byte_seconds": round(first_byte, 3),
            "peak_rss_mb": round(_peak_rss_mb(gateway_pid), 1), "rss_before_mb": round(before, 1),
            "peak_rss_of": "gateway process"}
