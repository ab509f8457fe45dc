"""Personal-data rights through RPC against PostgreSQL: a member's data export, erasure,
shop cancellation, answer retention and the purge of cancelled shops, with their events."""
import datetime
import json
import uuid
import zoneinfo

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chassis import errors

from .conftest import key

BKK = zoneinfo.ZoneInfo("Asia/Bangkok")
ADMIN = {"type": "admin", "id": "a-1"}


def events(db, event_type):
    return [row["data"] for row in db.execute(
        "SELECT envelope->'data' AS data FROM outbox WHERE envelope->>'type' = %s ORDER BY id",
        (event_type,)).fetchall()]


def add_member(db, shop_id, phone="+66812345678", answered_at=None, name="Somchai"):
    """A registered member with an answer, a tag and a change, written as registration does."""
    member_id = uuid.uuid4()
    db.execute("INSERT INTO consent_texts (shop_id, version, terms, privacy) VALUES (%s, 'v1', 'T', 'P') "
               "ON CONFLICT DO NOTHING", (shop_id,))
    db.execute("INSERT INTO members (member_id, shop_id, phone, status, name, gender, birthday, email, address, "
               "line_user_id, consent_version, consented_at, registered_at, registered_via) VALUES "
               "(%s, %s, %s, 'registered', %s, 'male', '1990-04-01', 's@example.com', '1 Sukhumvit', %s, 'v1', "
               "now(), now(), 'member')", (member_id, shop_id, phone, name, "U" + uuid.uuid4().hex))
    question_id = db.execute("SELECT question_id FROM questions WHERE shop_id = %s", (shop_id,)).fetchone()
    if question_id is None:
        question_id = {"question_id": uuid.uuid4()}
        db.execute("INSERT INTO questions (question_id, shop_id, position, kind, prompt) "
                   "VALUES (%s, %s, 1, 'text', 'What do you do?')", (question_id["question_id"], shop_id))
    db.execute("INSERT INTO answers (member_id, question_id, shop_id, answer, answered_at) VALUES (%s, %s, %s, %s, %s)",
               (member_id, question_id["question_id"], shop_id, Jsonb("office worker"),
                answered_at or datetime.datetime.now(datetime.UTC)))
    db.execute("INSERT INTO member_tags (member_id, shop_id, tag, added_by) VALUES (%s, %s, 'vip', %s)",
               (member_id, shop_id, Jsonb(ADMIN)))
    db.execute("INSERT INTO member_changes (member_id, shop_id, actor, kind, changes) "
               "VALUES (%s, %s, %s, 'updated', %s)",
               (member_id, shop_id, Jsonb({"type": "member", "id": phone}),
                Jsonb({"name": {"old": "Som", "new": name}, "email": {"old": None, "new": "s@example.com"}})))
    return str(member_id)


def erase(members, shop_id, member_id, idempotency_key=None):
    return members.erase_member({"idempotency_key": idempotency_key or key(), "shop_id": shop_id,
                                 "member_id": member_id, "actor": ADMIN})


def test_the_export_holds_the_profile_consent_answers_tags_history_and_tier(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    member_id = add_member(db, shop_id)
    data = members.member_data({"shop_id": shop_id, "member_id": member_id})
    assert data["service"] == "members" and data["phone"] == "+66812345678"
    assert data["member"]["name"] == "Somchai" and data["member"]["address"] == "1 Sukhumvit"
    assert data["member"]["consent_version"] == "v1" and data["member"]["consented_at"]
    assert [a["answer"] for a in data["answers"]] == ["office worker"]
    assert data["answers"][0]["question"] == "What do you do?"
    assert [t["tag"] for t in data["tags"]] == ["vip"]
    assert data["changes"][0]["changes"]["name"] == {"old": "Som", "new": "Somchai"}
    assert "tier_decisions" in data["other"] and data["tier"] is None
    assert members.member_data({"shop_id": shop_id, "phone": "081-234-5678"})["member_id"] == member_id
    json.dumps(data)


def test_an_unknown_member_has_no_data_and_bad_references_are_named(members, shop):
    shop_id = shop["shop"]["shop_id"]
    with pytest.raises(errors.NotFound) as caught:
        members.member_data({"shop_id": shop_id, "member_id": str(uuid.uuid4())})
    assert caught.value.code == "member_not_found"
    with pytest.raises(errors.InvalidInput) as caught:
        members.member_data({"shop_id": shop_id, "phone": "12345"})
    assert "phone" in caught.value.fields


def test_erasure_removes_personal_fields_and_publishes_the_pseudonym(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    member_id = add_member(db, shop_id)
    db.execute("UPDATE members SET lifetime_points = 700, points_balance = 500 WHERE member_id = %s", (member_id,))
    result = erase(members, shop_id, member_id)
    assert result["pseudonym"] == f"erased:{member_id}" and result["already_erased"] is False
    row = db.execute("SELECT * FROM members WHERE member_id = %s", (member_id,)).fetchone()
    assert row["status"] == "erased" and row["phone"] == f"erased:{member_id}" and row["erased_at"]
    assert [row[f] for f in ("name", "gender", "birthday", "email", "address", "line_user_id")] == [None] * 6
    assert (row["lifetime_points"], row["points_balance"]) == (700, 500)
    assert db.execute("SELECT count(*) FROM answers WHERE member_id = %s", (member_id,)).fetchone()["count"] == 0
    assert db.execute("SELECT count(*) FROM member_tags WHERE member_id = %s", (member_id,)).fetchone()["count"] == 0
    changes = db.execute("SELECT kind, actor, changes FROM member_changes WHERE member_id = %s ORDER BY change_id",
                         (member_id,)).fetchall()
    assert changes[0]["changes"] == {"name": None, "email": None} and changes[0]["actor"] == {"type": "member"}
    assert changes[-1]["kind"] == "erased"
    assert "Somchai" not in json.dumps(members.member_data({"shop_id": shop_id, "member_id": member_id}))
    [event] = events(db, "members.erased")
    assert event == {"member_id": member_id, "phone": "+66812345678", "pseudonym": f"erased:{member_id}",
                     "erased_at": event["erased_at"]}


def test_erasure_is_idempotent_on_its_key_and_happens_once(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    member_id = add_member(db, shop_id)
    first_key = key()
    first = erase(members, shop_id, member_id, first_key)
    again = erase(members, shop_id, member_id, first_key)
    assert again["replayed"] is True and again["pseudonym"] == first["pseudonym"]
    other = erase(members, shop_id, member_id)
    assert other["already_erased"] is True and other["replayed"] is False
    assert len(events(db, "members.erased")) == 1
    with pytest.raises(errors.Conflict) as caught:
        members.erase_member({"idempotency_key": first_key, "shop_id": shop_id, "member_id": str(uuid.uuid4())})
    assert caught.value.code == "idempotency_key_reused"


def test_a_phone_erased_earns_again_as_a_new_member(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    member_id = add_member(db, shop_id)
    erase(members, shop_id, member_id)
    db.execute("INSERT INTO members (member_id, shop_id, phone) VALUES (%s, %s, '+66812345678')",
               (uuid.uuid4(), shop_id))
    fresh = members.member_data({"shop_id": shop_id, "phone": "0812345678"})
    assert fresh["member_id"] != member_id and fresh["member"]["status"] == "phone_only"


def test_erasing_needs_a_key_and_a_known_member(members, shop):
    shop_id = shop["shop"]["shop_id"]
    with pytest.raises(errors.InvalidInput) as caught:
        members.erase_member({"shop_id": shop_id, "member_id": str(uuid.uuid4())})
    assert "idempotency_key" in caught.value.fields
    with pytest.raises(errors.NotFound):
        erase(members, shop_id, str(uuid.uuid4()))


def test_a_cancelled_shop_s_keys_stop_working_and_cancelling_again_changes_nothing(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    cancelled = members.cancel_shop({"idempotency_key": key(), "shop_id": shop_id})
    assert cancelled["cancelled_at"] and cancelled["purge_due_at"] > cancelled["cancelled_at"]
    with pytest.raises(errors.Unauthorized):
        members.authenticate({"api_key": shop["admin_api_key"]})
    again = members.cancel_shop({"idempotency_key": key(), "shop_id": shop_id})
    assert again["cancelled_at"] == cancelled["cancelled_at"]
    published = {k: cancelled[k] for k in ("shop_id", "cancelled_at", "purge_due_at")}
    assert events(db, "members.shop_cancelled") == [published]
    with pytest.raises(errors.NotFound):
        members.cancel_shop({"idempotency_key": key(), "shop_id": str(uuid.uuid4())})


def cancel_at(members, db, shop_id, moment):
    members.cancel_shop({"idempotency_key": key(), "shop_id": shop_id})
    db.execute("UPDATE shops SET cancelled_at = %s WHERE shop_id = %s", (moment, shop_id))


def counts(db, shop_id):
    return {table: db.execute(f"SELECT count(*) FROM {table} WHERE shop_id = %s", (shop_id,)).fetchone()["count"]
            for table in ("members", "answers", "member_tags", "branches", "staff", "api_keys", "questions")}


def test_a_cancelled_shop_is_purged_after_90_days_past_its_month_end_once(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    other = members.create_shop({"idempotency_key": key(), "name": "Still open"})["shop"]["shop_id"]
    members.create_staff({"idempotency_key": key(), "shop_id": shop_id, "name": "Nok",
                          "branch_id": members.create_branch({"idempotency_key": key(), "shop_id": shop_id,
                                                              "name": "Siam"})["branch_id"]})
    add_member(db, shop_id)
    add_member(db, other)
    cancel_at(members, db, shop_id, datetime.datetime(2026, 1, 15, 10, tzinfo=BKK))
    month_end = datetime.datetime(2026, 2, 1, tzinfo=BKK)
    day_89 = members.run_retention({"as_of": (month_end + datetime.timedelta(days=89)).isoformat()})
    assert day_89["shops_purged"] == [] and counts(db, shop_id)["members"] == 1
    day_91 = members.run_retention({"as_of": (month_end + datetime.timedelta(days=91)).isoformat()})
    assert day_91["shops_purged"] == [shop_id]
    assert set(counts(db, shop_id).values()) == {0}
    assert counts(db, other)["members"] == 1 and counts(db, other)["answers"] == 1
    assert db.execute("SELECT purged_at FROM shops WHERE shop_id = %s", (shop_id,)).fetchone()["purged_at"]
    again = members.run_retention({"as_of": (month_end + datetime.timedelta(days=92)).isoformat()})
    assert again == {"answers_deleted": 0, "shops_purged": []}
    [purged] = events(db, "members.shop_purged")
    assert purged["shop_id"] == shop_id and purged["cancelled_at"].startswith("2026-01-15T03:00")


def test_a_big_shop_is_purged_in_chunks(shop, dsn, members, db):
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox
    from members import privacy

    shop_id = shop["shop"]["shop_id"]
    for n in range(7):
        add_member(db, shop_id, phone=f"+6681234560{n}")
    cancel_at(members, db, shop_id, datetime.datetime(2026, 1, 15, tzinfo=BKK))
    deleted = []
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as watch:
        watch.execute("CREATE TABLE purge_log (n int)")
        watch.execute("CREATE FUNCTION log_purge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                      "INSERT INTO purge_log SELECT count(*) FROM gone; RETURN NULL; END $$")
        watch.execute("CREATE TRIGGER log_purge AFTER DELETE ON members REFERENCING OLD TABLE AS gone "
                      "FOR EACH STATEMENT EXECUTE FUNCTION log_purge()")
    pool = make_pool(dsn, min_size=1, max_size=2)
    try:
        result = privacy.run_retention(Store(pool), WorkerOutbox({}), datetime.datetime(2026, 6, 1, tzinfo=BKK),
                                       chunk=3)
    finally:
        pool.close()
    deleted = [row["n"] for row in db.execute("SELECT n FROM purge_log")]
    assert result["shops_purged"] == [shop_id] and deleted[:3] == [3, 3, 1]
    assert counts(db, shop_id)["members"] == 0


def test_answers_past_the_shop_s_retention_are_deleted_as_of_any_time_once(members, shop, db):
    shop_id = shop["shop"]["shop_id"]
    old = add_member(db, shop_id, phone="+66812345670", answered_at=datetime.datetime(2026, 3, 1, 23, tzinfo=BKK))
    recent = add_member(db, shop_id, phone="+66812345671", answered_at=datetime.datetime(2026, 3, 2, 1, tzinfo=BKK))
    assert members.set_answer_retention({"shop_id": shop_id, "days": 30}) == {"shop_id": shop_id, "days": 30}
    members.set_answer_retention({"shop_id": shop_id, "days": 30})
    assert len(events(db, "members.answer_retention_set")) == 1
    assert members.run_retention({"as_of": "2026-03-31T23:00:00+07:00"})["answers_deleted"] == 0
    assert members.run_retention({"as_of": "2026-04-01T00:30:00+07:00"})["answers_deleted"] == 1
    left = [r["member_id"] for r in db.execute("SELECT member_id::text FROM answers WHERE shop_id = %s", (shop_id,))]
    assert left == [recent] and old not in left
    assert members.run_retention({"as_of": "2026-04-01T00:30:00+07:00"})["answers_deleted"] == 0
    [deleted] = events(db, "members.answers_deleted")
    assert deleted["count"] == 1 and deleted["answered_before"].startswith("2026-03-01T17:00")


def test_answer_retention_input_is_checked(members, shop):
    with pytest.raises(errors.InvalidInput) as caught:
        members.set_answer_retention({"shop_id": shop["shop"]["shop_id"], "days": 0})
    assert "days" in caught.value.fields
    with pytest.raises(errors.NotFound):
        members.set_answer_retention({"shop_id": str(uuid.uuid4()), "days": 30})
    with pytest.raises(errors.InvalidInput) as caught:
        members.run_retention({"as_of": "2026-04-01T00:30:00"})
    assert "as_of" in caught.value.fields


def test_concurrent_erasures_of_one_member_erase_once(members, shop, db, config):
    import eventlet
    from nameko.standalone.rpc import ServiceRpcProxy

    shop_id = shop["shop"]["shop_id"]
    member_id = add_member(db, shop_id)

    def erase_once(_):
        with ServiceRpcProxy("members", config, timeout=30) as proxy:
            return erase(proxy, shop_id, member_id)["already_erased"]

    outcomes = list(eventlet.GreenPool(10).imap(erase_once, range(10)))
    assert sorted(outcomes) == [False] + [True] * 9
    assert len(events(db, "members.erased")) == 1


def test_the_retention_job_runs_from_the_command_line_as_of_a_time(members, shop, db, dsn, tmp_path, capsys):
    from members import jobs

    shop_id = shop["shop"]["shop_id"]
    add_member(db, shop_id)
    cancel_at(members, db, shop_id, datetime.datetime(2026, 1, 15, tzinfo=BKK))
    config = tmp_path / "members.yaml"
    config.write_text(f"DB:\n  DSN: {dsn}\nLOG_LEVEL: WARNING\n")
    jobs.main(["retention", "--config", str(config), "--as-of", "2026-05-01T00:00:00+07:00"])
    assert json.loads(capsys.readouterr().out) == {"answers_deleted": 0, "shops_purged": []}
    jobs.main(["retention", "--config", str(config), "--as-of", "2026-05-02T00:00:00+07:00"])
    assert json.loads(capsys.readouterr().out) == {"answers_deleted": 0, "shops_purged": [shop_id]}
    with pytest.raises(SystemExit):
        jobs.main(["retention", "--config", str(config), "--as-of", "2026-05-02T00:00:00"])
