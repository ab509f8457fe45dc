"""Member tiers against real PostgreSQL and RabbitMQ: settings, upgrades from points events,
the cycle and tier expiry, the dry run, "why am I Gold?"."""
import calendar
import datetime
import json
import os
import subprocess
import sys
import uuid
import zoneinfo

import pytest
from kombu import Exchange
from nameko.amqp.publish import get_producer

from chassis import errors, outbox
from chassis.testing import wait_for

SEED = [{"name": "Basic", "threshold": 500}, {"name": "Gold", "threshold": 1000},
        {"name": "Platinum", "threshold": 2000}]
BKK = zoneinfo.ZoneInfo("Asia/Bangkok")
SEQ = iter(range(1, 1_000_000))


def at(text):
    return datetime.datetime.fromisoformat(text)


def settings(shop_id, tiers=SEED, window_months=1, downgrade=None):
    return {"shop_id": shop_id, "tiers": tiers, "window_months": window_months,
            "downgrade": downgrade or {"mode": "cycle", "cycle": "monthly"}}


def publish(config, fact, shop_id, occurred_at, **data):
    """A points event as the points relay publishes it, dated `occurred_at`."""
    seq = next(SEQ)
    body = {"entry_id": seq, "phone": "+66812345678", "balance": 0, "balance_seq": seq, "branch_id": None,
            "actor": {"type": "staff", "id": "s"}, "kind": "earn", "source": "counter", **data}
    envelope = outbox.envelope(f"points.{fact}", 1, shop_id, body, occurred_at=occurred_at)
    exchange = Exchange("points.events", type="topic", durable=True)
    with get_producer(config["AMQP_URI"]) as producer:
        producer.publish(envelope, exchange=exchange, routing_key=f"{fact}.v1", serializer="json", declare=[exchange])
    return envelope


def earn(config, shop_id, occurred_at, points, phone="+66812345678"):
    return publish(config, "earned", shop_id, at(occurred_at) if isinstance(occurred_at, str) else occurred_at,
                   points=points, phone=phone, sale=None, order=None)


def received(db, shop_id, phone="+66812345678"):
    row = db.execute("""SELECT coalesce(sum(d.points), 0) AS points FROM member_daily_points d
                        JOIN members m USING (member_id) WHERE m.shop_id = %s AND m.phone = %s""",
                     (shop_id, phone)).fetchone()
    return row["points"]


def member_id(members, shop_id, phone="+66812345678"):
    found = wait_for(lambda: _member(members, shop_id, phone))
    return found["member_id"]


def _member(members, shop_id, phone):
    try:
        return members.get_member_by_phone({"shop_id": shop_id, "phone": phone})
    except errors.NotFound:
        return None


def tier_name(members, shop_id, mid):
    tier = members.member_tier({"shop_id": shop_id, "member_id": mid})["tier"]
    return tier and tier["name"]


def tier_events(db, shop_id):
    return [row["envelope"]["data"] for row in db.execute(
        "SELECT envelope FROM outbox WHERE routing_key = 'tier_changed.v1' AND envelope->>'shop_id' = %s ORDER BY id",
        (shop_id,))]


@pytest.fixture
def shop_id(shop):
    return shop["shop"]["shop_id"]


# --- settings ---------------------------------------------------------------------

def test_settings_are_versioned_and_setting_the_same_terms_again_changes_nothing(members, shop_id, db):
    first = members.set_tier_settings(settings(shop_id))
    assert (first["version"], first["changed"]) == (1, True)
    assert [(t["name"], t["threshold"], t["max_points"]) for t in first["tiers"]] == [
        ("Basic", 500, 999), ("Gold", 1000, 1999), ("Platinum", 2000, None)]
    again = members.set_tier_settings(settings(shop_id))
    assert (again["version"], again["changed"]) == (1, False)
    assert [t["tier_id"] for t in again["tiers"]] == [t["tier_id"] for t in first["tiers"]]
    second = members.set_tier_settings(settings(shop_id, window_months=3))
    assert (second["version"], second["window_months"]) == (2, 3)
    assert members.get_tier_settings({"shop_id": shop_id})["version"] == 2
    events = db.execute("SELECT count(*) AS n FROM outbox WHERE routing_key = 'tier_settings_changed.v1'").fetchone()
    assert events["n"] == 2


@pytest.mark.parametrize("change, field", [
    ({"tiers": [{"name": f"T{n}", "threshold": n} for n in range(6)]}, "tiers"),
    ({"tiers": [{"name": "Gold", "threshold": 1000}, {"name": "Basic", "threshold": 500}]}, "tiers.1.threshold"),
    ({"tiers": [{"name": "Basic", "threshold": 500, "max_points": 1200}, {"name": "Gold", "threshold": 1000}]},
     "tiers.0.max_points"),
    ({"tiers": [{"name": "Gold", "threshold": 500}, {"name": "GOLD", "threshold": 1000}]}, "tiers.1.name"),
    ({"downgrade": {"mode": "tier_expiry"}}, "downgrade.months"),
    ({"window_months": 2}, "window_months"),
])
def test_bad_settings_are_refused_naming_the_field_and_nothing_is_written(members, shop_id, db, change, field):
    with pytest.raises(errors.InvalidInput) as refused:
        members.set_tier_settings({**settings(shop_id), **change})
    assert field in refused.value.fields
    assert db.execute("SELECT count(*) AS n FROM tier_settings").fetchone()["n"] == 0
    with pytest.raises(errors.NotFound) as missing:
        members.get_tier_settings({"shop_id": shop_id})
    assert missing.value.code == "tier_settings_not_found"


def test_settings_of_an_unknown_shop_are_refused(members):
    with pytest.raises(errors.NotFound) as refused:
        members.set_tier_settings(settings(str(uuid.uuid4())))
    assert refused.value.code == "shop_not_found"


# --- upgrades from points events ------------------------------------------------------

def test_seed_example_500_points_received_1_april_to_1_may_2022_is_basic_on_1_may(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, "2022-04-01T09:00:00+07:00", 200)
    mid = member_id(members, shop_id)
    assert wait_for(lambda: received(db, shop_id) == 200)
    assert tier_name(members, shop_id, mid) is None
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 300)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Basic")
    # another member: 400 on 31 March (the day before the window) and 100 on 1 May: no tier
    other = "+66810000009"
    earn(config, shop_id, "2022-03-31T20:00:00+07:00", 400, phone=other)
    assert wait_for(lambda: received(db, shop_id, other) == 400)
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 100, phone=other)
    assert wait_for(lambda: received(db, shop_id, other) == 500)
    assert tier_name(members, shop_id, member_id(members, shop_id, other)) is None
    decision = members.member_tier({"shop_id": shop_id, "member_id": mid})["decision"]
    assert (decision["reason"], decision["window_points"], decision["window_start"], decision["window_end"],
            decision["settings_version"], decision["from_tier"], decision["to_tier"]) == (
        "upgrade", 500, "2022-04-01", "2022-05-01", 1, None, "Basic")
    assert at(decision["decided_at"]) == at("2022-05-01T10:00:00+07:00")
    [event] = tier_events(db, shop_id)
    fields = ("phone", "from", "to", "reason", "member_id", "window_points")
    assert tuple(event[f] for f in fields) == ("+66812345678", None, "Basic", "upgrade", mid, 500)
    assert db.execute("SELECT t.name FROM members m JOIN tiers t USING (tier_id) WHERE m.member_id = %s",
                      (mid,)).fetchone()["name"] == "Basic"


def test_voided_earns_stop_counting_and_spending_never_does_and_no_earn_moves_down(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 900)
    mid = member_id(members, shop_id)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Basic")
    publish(config, "redeemed", shop_id, at("2022-05-02T10:00:00+07:00"), points=-900, kind="redeem")
    publish(config, "voided", shop_id, at("2022-05-02T11:00:00+07:00"), points=-400, kind="void",
            target_kind="earn", requested=400, recovered=0, unrecovered=400)
    assert wait_for(lambda: received(db, shop_id) == 500)
    earn(config, shop_id, "2022-05-03T10:00:00+07:00", 400)  # 900 in the window: still Basic
    assert wait_for(lambda: received(db, shop_id) == 900)
    assert tier_name(members, shop_id, mid) == "Basic"
    earn(config, shop_id, "2022-05-04T10:00:00+07:00", 1200)  # 2,100: Platinum at once
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Platinum")
    earn(config, shop_id, "2022-08-01T10:00:00+07:00", 10)  # a later earn with a small window: never down
    assert wait_for(lambda: received(db, shop_id) == 2110)
    assert tier_name(members, shop_id, mid) == "Platinum"
    assert [(e["from"], e["to"]) for e in tier_events(db, shop_id)] == [(None, "Basic"), ("Basic", "Platinum")]


def test_a_void_takes_its_points_off_the_day_of_the_credit_it_reverses(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 300)
    earn(config, shop_id, "2022-05-20T10:00:00+07:00", 200)
    assert wait_for(lambda: received(db, shop_id) == 500)
    publish(config, "voided", shop_id, at("2022-06-10T11:00:00+07:00"), points=-300, kind="void",
            target_kind="earn", requested=300, recovered=300, unrecovered=0, target_at="2022-05-01T03:00:00+00:00")
    assert wait_for(lambda: received(db, shop_id) == 200)
    days = db.execute("SELECT day, points FROM member_daily_points ORDER BY day").fetchall()
    assert [(str(d["day"]), d["points"]) for d in days] == [("2022-05-01", 0), ("2022-05-20", 200)]


def test_history_pages_through_a_members_decisions_newest_first(members, shop_id, config):
    members.set_tier_settings(settings(shop_id))
    steps = (("2022-05-01", 600, "Basic"), ("2022-05-02", 600, "Gold"), ("2022-05-03", 900, "Platinum"))
    for day, points, reached in steps:
        earn(config, shop_id, f"{day}T10:00:00+07:00", points)
        mid = member_id(members, shop_id)
        assert wait_for(lambda: tier_name(members, shop_id, mid) == reached)  # noqa: B023
    first = members.tier_history({"shop_id": shop_id, "member_id": mid, "limit": 2})
    assert [d["to_tier"] for d in first["decisions"]] == ["Platinum", "Gold"]
    rest = members.tier_history({"shop_id": shop_id, "member_id": mid, "limit": 2, "before": first["next_before"]})
    assert [d["to_tier"] for d in rest["decisions"]] == ["Basic"] and rest["next_before"] is None


def test_a_member_of_another_shop_or_unknown_is_not_found(members, shop_id, config):
    with pytest.raises(errors.NotFound) as refused:
        members.member_tier({"shop_id": shop_id, "member_id": str(uuid.uuid4())})
    assert refused.value.code == "member_not_found" and "member_id" in refused.value.fields
    with pytest.raises(errors.InvalidInput) as bad:
        members.tier_history({"shop_id": shop_id, "member_id": "nope", "limit": 0})
    assert set(bad.value.fields) == {"member_id", "limit"}


# --- the cycle and tier expiry ----------------------------------------------------------

def next_month_end():
    """The last day of this month (shop time): the first cycle end after the settings are made."""
    today = datetime.datetime.now(BKK).date()
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


def local(day, hour=10):
    return datetime.datetime.combine(day, datetime.time(hour), BKK)


def test_a_cycle_end_decides_tiers_down_or_up_once(members, shop_id, config, db):
    end = next_month_end()
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, local(end - datetime.timedelta(days=70)), 2500, phone="+66810000001")  # out of window
    earn(config, shop_id, local(end - datetime.timedelta(days=3)), 1200, phone="+66810000002")  # stays Gold
    earn(config, shop_id, local(end + datetime.timedelta(days=1), 8), 2500, phone="+66810000003")  # after the end
    faded, kept, late = (member_id(members, shop_id, f"+6681000000{n}") for n in (1, 2, 3))
    assert wait_for(lambda: tier_name(members, shop_id, late) == "Platinum")
    assert tier_name(members, shop_id, faded) == "Platinum" and tier_name(members, shop_id, kept) == "Gold"
    # lower Gold so that the cycle also moves someone up: settings apply at the next cycle end
    members.set_tier_settings(settings(shop_id, tiers=[{"name": "Basic", "threshold": 500},
                                                       {"name": "Gold", "threshold": 800},
                                                       {"name": "Platinum", "threshold": 1100}]))
    before_end = members.run_tier_cycle({"as_of": local(end, 23).isoformat()})
    assert before_end["cycle_ends"] == 0 and before_end["changed"] == 0
    as_of = local(end + datetime.timedelta(days=1), 12).isoformat()
    done = members.run_tier_cycle({"as_of": as_of})
    assert (done["cycle_ends"], done["changed"]) == (1, 2)
    assert tier_name(members, shop_id, faded) is None
    assert tier_name(members, shop_id, kept) == "Platinum"
    assert tier_name(members, shop_id, late) == "Platinum"
    changed = {(e["phone"], e["from"], e["to"]) for e in tier_events(db, shop_id) if e["reason"] == "cycle_end"}
    assert changed == {("+66810000001", "Platinum", None), ("+66810000002", "Gold", "Platinum")}
    why = members.member_tier({"shop_id": shop_id, "member_id": kept})["decision"]
    assert (why["window_points"], why["window_end"], why["settings_version"]) == (1200, end.isoformat(), 2)
    again = members.run_tier_cycle({"as_of": as_of})
    assert (again["cycle_ends"], again["changed"]) == (0, 0)
    assert len([e for e in tier_events(db, shop_id) if e["reason"] == "cycle_end"]) == 2
    assert db.execute("SELECT count(*) AS n FROM tier_cycle_runs").fetchone()["n"] == 1


def test_cycle_ends_missed_while_the_job_was_stopped_are_each_evaluated_in_order(members, shop_id, config, db):
    end = next_month_end()
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, local(end - datetime.timedelta(days=3)), 1200)  # Gold; out of every later window
    mid = member_id(members, shop_id)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Gold")
    three_later = end + datetime.timedelta(days=95)  # the job ran last before the first end
    done = members.run_tier_cycle({"as_of": local(three_later, 12).isoformat()})
    assert done["cycle_ends"] == 4 and done["changed"] == 1
    runs = [r["cycle_end"] for r in db.execute("SELECT cycle_end FROM tier_cycle_runs ORDER BY cycle_end")]
    assert runs[0] == end and len(runs) == 4
    [dropped] = [e for e in tier_events(db, shop_id) if e["reason"] == "cycle_end"]
    # the month after the earn still held it in the window (1 month back): it went at the second end
    assert (dropped["from"], dropped["to"], dropped["window_end"]) == ("Gold", None, runs[1].isoformat())
    assert members.run_tier_cycle({"as_of": local(three_later, 12).isoformat()})["cycle_ends"] == 0


def test_an_expired_tier_starts_again_or_drops_to_what_the_window_justifies(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id, downgrade={"mode": "tier_expiry", "months": 1}))
    earn(config, shop_id, "2026-01-10T10:00:00+07:00", 1200)
    mid = member_id(members, shop_id)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Gold")
    early = members.run_tier_cycle({"as_of": "2026-02-10T09:59:00+07:00"})
    assert early["expired"] == 0
    # 10 Feb: the window 10 Jan - 10 Feb still holds the 1,200: Gold starts again, no event
    restarted = members.run_tier_cycle({"as_of": "2026-02-10T11:00:00+07:00"})
    assert (restarted["expired"], restarted["changed"]) == (1, 0)
    now = members.member_tier({"shop_id": shop_id, "member_id": mid})
    assert now["tier"]["name"] == "Gold" and at(now["tier_reached_at"]) == at("2026-02-10T10:00:00+07:00")
    assert now["decision"]["reason"] == "tier_expired" and now["decision"]["window_points"] == 1200
    assert at(now["tier_expires_at"]) == at("2026-03-10T10:00:00+07:00")
    # run late, two months on: it expires on 10 March (nothing in the window) and drops out
    dropped = members.run_tier_cycle({"as_of": "2026-05-01T00:00:00+07:00"})
    assert (dropped["expired"], dropped["changed"]) == (1, 1)
    assert tier_name(members, shop_id, mid) is None
    assert members.run_tier_cycle({"as_of": "2026-05-01T00:00:00+07:00"})["expired"] == 0
    assert [(e["from"], e["to"], e["reason"]) for e in tier_events(db, shop_id)] == [
        (None, "Gold", "upgrade"), ("Gold", None, "tier_expired")]


def test_the_cycle_refuses_a_bad_as_of(members):
    with pytest.raises(errors.InvalidInput) as refused:
        members.run_tier_cycle({"as_of": "2026-05-01T00:00:00"})
    assert "as_of" in refused.value.fields


# --- dry run ------------------------------------------------------------------------------

def test_a_dry_run_counts_who_would_move_and_changes_nothing(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 600, phone="+66810000001")  # Basic
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 1500, phone="+66810000002")  # Gold
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 100, phone="+66810000003")  # none
    ids = [member_id(members, shop_id, f"+6681000000{n}") for n in (1, 2, 3)]
    assert wait_for(lambda: tier_name(members, shop_id, ids[1]) == "Gold")
    proposed = settings(shop_id, tiers=[{"name": "Basic", "threshold": 100}, {"name": "Gold", "threshold": 600},
                                        {"name": "Platinum", "threshold": 5000}])
    result = members.dry_run_tier_settings({**proposed, "as_of": "2022-05-02T00:00:00+07:00"})
    assert (result["up"], result["down"], result["stay"], result["members"]) == (2, 0, 1, 3)
    assert result["by_tier"] == {"Basic": 1, "Gold": 2, "Platinum": 0}
    assert members.get_tier_settings({"shop_id": shop_id})["version"] == 1
    assert [tier_name(members, shop_id, m) for m in ids] == ["Basic", "Gold", None]
    with pytest.raises(errors.InvalidInput):
        members.dry_run_tier_settings({**proposed, "tiers": proposed["tiers"] * 2})


def test_the_cycle_runs_from_the_command_line_as_of_a_given_time(members, shop_id, config, tmp_path):
    members.set_tier_settings(settings(shop_id, downgrade={"mode": "tier_expiry", "months": 1}))
    earn(config, shop_id, "2026-01-10T10:00:00+07:00", 1200)
    mid = member_id(members, shop_id)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Gold")
    path = tmp_path / "members.yaml"
    path.write_text(json.dumps({"DB": {"DSN": config["DB"]["DSN"]}, "LOG_LEVEL": "WARNING"}))
    command = [sys.executable, "-m", "members.jobs", "tier-cycle", "--as-of", "2026-03-10T11:00:00+07:00",
               "--config", str(path)]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select"})
    assert ran.returncode == 0, ran.stderr
    # expired on 10 Feb (the 1,200 of 10 Jan still in the window: Gold again), then on 10 March: none
    assert json.loads(ran.stdout.splitlines()[-1]) == {"shops": 1, "cycle_ends": 0, "expired": 2, "changed": 1}
    assert tier_name(members, shop_id, mid) is None


def test_concurrent_settings_with_the_same_terms_make_one_version(members, shop_id, config):
    import eventlet
    from nameko.standalone.rpc import ServiceRpcProxy

    members.set_tier_settings(settings(shop_id))

    def set_window_3():
        with ServiceRpcProxy("members", config, timeout=10) as proxy:
            return proxy.set_tier_settings(settings(shop_id, window_months=3))

    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: set_window_3(), range(5)))
    assert {a["version"] for a in answers} == {2}
    assert sorted(a["changed"] for a in answers) == [False] * 4 + [True]


def test_a_cycle_end_over_many_chunks_decides_every_member_once(members, shop_id, config, dsn, db):
    from chassis.db import Store, make_pool
    from chassis.outbox import WorkerOutbox
    from members import jobs

    end = next_month_end()
    members.set_tier_settings(settings(shop_id))
    phones = [f"+6681000010{n}" for n in range(7)]
    for n, phone in enumerate(phones):  # Platinum two months before the end; in the window: n x 300
        earn(config, shop_id, local(end - datetime.timedelta(days=70)), 2500, phone=phone)
        if n:
            earn(config, shop_id, local(end - datetime.timedelta(days=2)), n * 300, phone=phone)
    assert wait_for(lambda: all(tier_name(members, shop_id, member_id(members, shop_id, p)) == "Platinum"
                                for p in phones))
    assert wait_for(lambda: sum(received(db, shop_id, p) for p in phones) == 7 * 2500 + 21 * 300)
    pool = make_pool(dsn, min_size=1, max_size=3)
    try:
        as_of = local(end + datetime.timedelta(days=1), 1)
        done = jobs.tier_cycle(Store(pool), WorkerOutbox({}), as_of, chunk=2)
        again = jobs.tier_cycle(Store(pool), WorkerOutbox({}), as_of, chunk=2)
    finally:
        pool.close()
    # window points 0, 300, 600, 900, 1200, 1500, 1800: none, none, Basic, Basic, Gold, Gold, Gold
    assert [tier_name(members, shop_id, member_id(members, shop_id, p)) for p in phones] == [
        None, None, "Basic", "Basic", "Gold", "Gold", "Gold"]
    assert (done["cycle_ends"], done["changed"]) == (1, 7) and (again["cycle_ends"], again["changed"]) == (0, 0)
    assert len([e for e in tier_events(db, shop_id) if e["reason"] == "cycle_end"]) == 7


def test_a_tier_the_new_settings_drop_is_kept_until_the_next_earn_replaces_it(members, shop_id, config, db):
    members.set_tier_settings(settings(shop_id))
    earn(config, shop_id, "2022-05-01T10:00:00+07:00", 1200)
    mid = member_id(members, shop_id)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Gold")
    renamed = [{"name": "Basic", "threshold": 500}, {"name": "Gold+", "threshold": 1000},
               {"name": "Platinum", "threshold": 2000}]
    members.set_tier_settings(settings(shop_id, tiers=renamed))
    held = members.member_tier({"shop_id": shop_id, "member_id": mid})["tier"]
    assert (held["name"], held["position"]) == ("Gold", None)  # what the member holds, until decided again
    earn(config, shop_id, "2022-05-02T10:00:00+07:00", 10)
    assert wait_for(lambda: tier_name(members, shop_id, mid) == "Gold+")
    why = members.member_tier({"shop_id": shop_id, "member_id": mid})["decision"]
    assert (why["reason"], why["from_tier"], why["to_tier"], why["settings_version"]) == (
        "settings_changed", "Gold", "Gold+", 2)
