import datetime
import zoneinfo

import pytest

from chassis import errors
from chassis.testing import wait_for

from .conftest import LINE_USER, PHONE, SHOP, later


def coupon(phone=PHONE):
    return {"phone": phone, "code": "NKZ9GF4QT", "name": "Free cookie", "expires_at": "2026-12-27T16:59:59+00:00",
            "coupon_id": "c1"}


def messages(notifier, **query):
    return notifier.messages({"shop_id": SHOP, **query})["messages"]


def outbox_events(db, event_type):
    return [r["envelope"]["data"] for r in db.execute(
        "SELECT envelope FROM outbox WHERE envelope->>'type' = %s ORDER BY id", (event_type,))]


def test_an_event_becomes_one_line_message_even_when_delivered_twice(notifier, publish, fake, db):
    notifier.set_contact({"shop_id": SHOP, "phone": "081-234-5678", "name": "Nok", "line_user_id": LINE_USER})
    event_id = publish("rewards", "coupon_issued", coupon())
    publish("rewards", "coupon_issued", coupon(), event_id=event_id)  # the broker redelivers
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({}) == {"sent": 1, "retry": 0, "failed": 0}
    (sent,) = fake.received
    assert sent["channel"] == "line_push" and sent["to"] == LINE_USER
    assert "NKZ9GF4QT" in sent["texts"][0] and "Cafe" in sent["texts"][0] and "27/12/2026" in sent["texts"][0]
    assert messages(notifier)[0]["status"] == "sent"
    assert [e["trigger"] for e in outbox_events(db, "notifier.message_sent")] == ["coupon_received"]


def test_without_line_the_member_gets_an_sms_with_its_parts_counted(notifier, publish, fake):
    publish("points", "earned", {"phone": PHONE, "points": 12, "balance": 40})
    publish("points", "earned", {"phone": PHONE, "points": 0, "balance": 40})  # earned nothing: no message
    wait_for(lambda: len(messages(notifier)) == 1)
    notifier.run_sender({})
    (sms,) = fake.received
    assert (sms["channel"], sms["to"], sms["sender"]) == ("sms", "66812345678", "CAFE")
    assert "12" in sms["text"] and "40" in sms["text"]
    (message,) = messages(notifier)
    assert message["channel"] == "sms" and message["sms_parts"] == 1


def test_transient_failures_are_retried_with_backoff_and_sent_once(notifier, publish, fake):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    fake.fail.extend([503, 429])
    fake.retry_after = 30
    publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5})
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({})["retry"] == 1  # 503
    assert notifier.run_sender({"now": later(seconds=5)})["retry"] == 1  # 429, Retry-After 30
    assert notifier.run_sender({"now": later(seconds=20)}) == {"sent": 0, "retry": 0, "failed": 0}  # not yet
    assert notifier.run_sender({"now": later(seconds=40)})["sent"] == 1
    assert len(fake.received) == 1
    (message,) = messages(notifier)
    assert (message["status"], message["attempts"]) == ("sent", 3)


def test_a_retried_push_is_never_delivered_twice(notifier, publish, fake, db):
    """The sender died after LINE accepted the push: the next try carries the same retry key."""
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5})
    wait_for(lambda: len(messages(notifier)) == 1)
    message_id = messages(notifier)[0]["message_id"]
    notifier.run_sender({})
    db.execute("UPDATE messages SET status = 'queued', next_attempt_at = now()")  # as if never recorded
    assert notifier.run_sender({})["sent"] == 1
    assert [r["retry_key"] for r in fake.received] == [message_id]  # LINE answered 409: already accepted


def test_permanent_errors_fail_at_once_and_an_admin_can_resend(notifier, publish, fake, db):
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": "revoked-0123456789"})
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5})
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({})["failed"] == 1
    (failed,) = messages(notifier, status="failed")
    assert "401" in failed["reason"]
    assert [e["trigger"] for e in outbox_events(db, "notifier.message_failed")] == ["points_earned"]
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": "token-0123456789"})
    assert notifier.resend({"shop_id": SHOP, "message_id": failed["message_id"]})["status"] == "queued"
    assert notifier.run_sender({})["sent"] == 1
    with pytest.raises(errors.Conflict):
        notifier.resend({"shop_id": SHOP, "message_id": failed["message_id"]})


def test_a_provider_down_for_ten_minutes_loses_nothing(notifier, publish, fake):
    fake.down = True
    for points in (1, 2, 3):
        publish("points", "earned", {"phone": PHONE, "points": points, "balance": points})
    wait_for(lambda: len(messages(notifier)) == 3)
    for second in range(0, 600, 15):
        notifier.run_sender({"now": later(seconds=second)})
    assert fake.received == [] and len(messages(notifier, status="queued")) == 3
    fake.down = False
    assert notifier.run_sender({"now": later(minutes=40)})["sent"] == 3
    assert sorted(m["to"] for m in fake.received) == ["66812345678"] * 3


def test_opt_out_and_missing_channels_are_recorded_not_sent(notifier, publish, fake):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "opt_out_transactional": True})
    publish("points", "earned", {"phone": PHONE, "points": 5, "balance": 5})
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe"})  # no LINE, no SMS
    publish("points", "earned", {"phone": "+66899999999", "points": 5, "balance": 5})
    wait_for(lambda: len(messages(notifier)) == 2)
    reasons = sorted(m["reason"] for m in messages(notifier, status="skipped"))
    assert reasons == ["no LINE link and the shop has not enabled SMS", "opted out of transactional messages"]
    notifier.run_sender({})
    assert fake.received == []


def test_a_batch_of_coupons_is_one_message_each(notifier, publish, fake):
    coupons = [{"coupon_id": f"c{i}", "code": f"CODE{i}", "phone": f"+6681234567{i}"} for i in range(3)]
    publish("rewards", "coupons_issued", {"name": "Voucher", "expires_at": None, "coupons": coupons})
    wait_for(lambda: len(messages(notifier)) == 3)
    assert notifier.run_sender({})["sent"] == 3


def test_shop_templates_in_thai_and_english_with_a_preview(notifier, publish, fake):
    with pytest.raises(errors.InvalidInput) as caught:
        notifier.set_template({"shop_id": SHOP, "trigger": "points_earned", "language": "en", "body": "{code}"})
    assert "body" in caught.value.fields
    notifier.set_template({"shop_id": SHOP, "trigger": "points_earned", "language": "en",
                           "body": "Hi {name}! +{points} at {shop}"})
    preview = notifier.preview({"shop_id": SHOP, "trigger": "points_earned", "language": "en",
                                "values": {"name": "Nok", "points": 7}})
    assert preview == {"text": "Hi Nok! +7 at Cafe", "sms_parts": 1}
    thai = notifier.preview({"shop_id": SHOP, "trigger": "points_earned", "values": {"points": 7, "balance": 9}})
    assert "คะแนน" in thai["text"]
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "name": "Nok", "language": "en"})
    publish("points", "earned", {"phone": PHONE, "points": 3, "balance": 3})
    wait_for(lambda: len(messages(notifier)) == 1)
    notifier.run_sender({})
    assert fake.received[0]["text"] == "Hi Nok! +3 at Cafe"
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "member_page_url": "https://liff.line.me/1-abc"})
    linked = notifier.preview({"shop_id": SHOP, "trigger": "points_earned", "language": "en",
                               "body": "+{points}: {link}", "values": {"points": 1}})
    assert linked["text"] == "+1: https://liff.line.me/1-abc"


def test_channels_keep_their_secrets(notifier):
    view = notifier.get_channels({"shop_id": SHOP})
    assert view["line_linked"] is True and "line_token" not in view and "sms_credentials" not in view
    with pytest.raises(errors.InvalidInput) as caught:
        notifier.save_channels({"shop_id": SHOP, "sms_enabled": True, "sms_provider": "thaibulksms",
                                "sms_credentials": {"api_key": "k"}})
    assert any("api_secret" in field for field in caught.value.fields)


def test_a_campaign_goes_by_line_multicast_and_sms_once_per_member(notifier, fake, db):
    phones = [f"+668123450{i:02d}" for i in range(12)]
    for i, phone in enumerate(phones[:10]):
        notifier.set_contact({"shop_id": SHOP, "phone": phone, "line_user_id": "U" + f"{i:032x}",
                              "opt_out_marketing": i == 9})
    request = {"shop_id": SHOP, "campaign_id": "camp-1", "phones": phones + phones[:2], "text": "2 for 1 today"}
    first = notifier.send_campaign(request)
    assert (first["line"], first["sms"], first["skipped"], first["line_batches"]) == (9, 2, 1, 1)
    assert notifier.send_campaign(request)["line"] == 0  # again: nobody twice
    due = max(first["send_at"], later(seconds=1))
    assert notifier.run_sender({"now": due})["sent"] == 11
    multicasts = [r for r in fake.received if r["channel"] == "line_multicast"]
    assert len(multicasts) == 1 and len(multicasts[0]["to"]) == 9 and multicasts[0]["texts"] == ["2 for 1 today"]
    assert len([r for r in fake.received if r["channel"] == "sms"]) == 2
    assert len(messages(notifier, campaign_id="camp-1", status="sent")) == 11
    assert len(outbox_events(db, "notifier.message_sent")) == 11


def test_marketing_waits_for_the_end_of_quiet_hours(notifier):
    local = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Bangkok"))
    start, end = (local - datetime.timedelta(hours=1)).time(), (local + datetime.timedelta(hours=1)).time()
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": "token-0123456789",
                            "quiet_start": start.strftime("%H:%M"), "quiet_end": end.strftime("%H:%M")})
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    result = notifier.send_campaign({"shop_id": SHOP, "campaign_id": "night", "phones": [PHONE], "text": "hi"})
    assert result["send_at"] > later(seconds=1)
    assert notifier.run_sender({})["sent"] == 0


def test_rate_limits_per_shop_and_channel_hold_the_rest_for_the_next_run(container_factory, rabbit_config, dsn,
                                                                         fake, publish):
    from nameko.standalone.rpc import ServiceRpcProxy
    from nameko.testing.utils import find_free_port

    from chassis.testing import service_config
    from notifier.service import NotifierService

    config = service_config(rabbit_config, dsn, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}",
                            LINE_API_URL=fake.url, THAIBULKSMS_URL=fake.url, SENDER_ENABLED="false",
                            SEND_RATES={"PER_SHOP": 10, "LINE": 10, "SMS": 2})
    container_factory(NotifierService, config).start()
    with ServiceRpcProxy("notifier", config, timeout=20) as notifier:
        notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "sms_enabled": True,
                                "sms_provider": "webhook", "sms_credentials": {"url": f"{fake.url}/webhook"}})
        for i in range(5):
            publish("points", "earned", {"phone": f"+6681234560{i}", "points": 1, "balance": 1})
        wait_for(lambda: len(notifier.messages({"shop_id": SHOP})["messages"]) == 5)
        assert [notifier.run_sender({})["sent"] for _ in range(4)] == [2, 2, 1, 0]


@pytest.mark.parametrize("source,event_type,data,expected", [
    ("points", "earned", {"phone": PHONE, "points": 12, "balance": 40}, "12"),
    ("points", "expiring_soon", {"phone": PHONE, "points": 30, "expires_at": "2027-01-31T16:59:59+00:00"},
     "31/01/2027"),
    ("rewards", "coupon_issued", coupon(), "NKZ9GF4QT"),
    ("rewards", "coupons_issued", {"name": "Voucher", "expires_at": None,
                                   "coupons": [{"coupon_id": "c1", "code": "ABCDEFGHJ", "phone": PHONE}]},
     "ABCDEFGHJ"),
    ("rewards", "coupon_expiring_soon", coupon(), "27/12/2026"),
    ("rewards", "delivery_status_changed", {"phone": PHONE, "name": "Tote bag", "status": "shipped",
                                            "carrier": "Kerry", "tracking_no": "KX123"}, "KX123"),
])
def test_each_trigger_sends_its_message_in_the_member_language(notifier, publish, fake, source, event_type, data,
                                                               expected):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER, "language": "en"})
    publish(source, event_type, data)
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({})["sent"] == 1
    (text,) = fake.received[0]["texts"]
    assert expected in text and text.startswith("Cafe:")


def test_without_the_shop_template_in_a_language_the_default_is_used(notifier, publish, fake):
    notifier.set_template({"shop_id": SHOP, "trigger": "points_earned", "language": "en", "body": "EN {points}"})
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER, "language": "th"})
    publish("points", "earned", {"phone": PHONE, "points": 4, "balance": 4})
    wait_for(lambda: len(messages(notifier)) == 1)
    notifier.run_sender({})
    assert "คุณได้รับ 4 คะแนน" in fake.received[0]["texts"][0]


def test_malformed_events_are_dead_lettered_not_half_applied(notifier, publish, db):
    publish("points", "earned", {"phone": PHONE})  # no points, no balance
    publish("points", "earned", {"phone": PHONE, "points": 1, "balance": 1})
    wait_for(lambda: len(messages(notifier)) == 1)
    assert db.execute("SELECT count(*) AS n FROM messages").fetchone()["n"] == 1


def test_saving_channels_without_secrets_keeps_the_stored_ones(notifier, publish, fake):
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "language": "en"})  # no token, no credentials
    assert notifier.get_channels({"shop_id": SHOP})["line_linked"] is True
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER})
    publish("points", "earned", {"phone": PHONE, "points": 2, "balance": 2})
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({})["sent"] == 1
    notifier.save_channels({"shop_id": SHOP, "shop_name": "Cafe", "line_token": None})
    assert notifier.get_channels({"shop_id": SHOP})["line_linked"] is False


@pytest.mark.parametrize("bad,field", [({"timezone": "Mars/Olympus"}, "timezone"),
                                       ({"line_token": "token with spaces"}, "line_token"),
                                       ({"sms_enabled": True, "sms_provider": "thaibulksms",
                                         "sms_credentials": {"api_key": "k\u0000", "api_secret": "s"}},
                                        "sms_credentials")])
def test_bad_channel_settings_name_their_field(notifier, bad, field):
    with pytest.raises(errors.InvalidInput) as caught:
        notifier.save_channels({"shop_id": SHOP, **bad})
    assert any(name.startswith(field) for name in caught.value.fields), caught.value.fields


def test_coupons_arrive_on_line_as_a_flex_bubble_with_the_code(notifier, publish, fake):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER, "language": "en"})
    publish("rewards", "coupon_issued", coupon())
    wait_for(lambda: len(messages(notifier)) == 1)
    notifier.run_sender({})
    (pushed,) = fake.received
    assert pushed["types"] == ["flex"] and "NKZ9GF4QT" in pushed["texts"][0]  # the alt text
    bubble = pushed["messages"][0]["contents"]
    assert "NKZ9-GF4QT" in [c["text"] for c in bubble["body"]["contents"]]


def test_a_tier_change_is_announced(notifier, publish, fake, db):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "line_user_id": LINE_USER, "language": "en"})
    publish("members", "tier_changed", {"phone": PHONE, "from": "Basic", "to": None, "reason": "expired"})
    wait_for(lambda: db.execute("SELECT count(*) AS n FROM inbox").fetchone()["n"] == 1)
    assert messages(notifier) == []  # no tier any more: nothing to announce
    publish("members", "tier_changed", {"phone": PHONE, "from": None, "to": "Gold", "reason": "upgrade"})
    wait_for(lambda: len(messages(notifier)) == 1)
    notifier.run_sender({})
    assert fake.received[0]["texts"] == ["Cafe: your member tier is now Gold."]
    notifier.set_template({"shop_id": SHOP, "trigger": "points_earned", "language": "en",
                           "body": "+{points} ({tier} member)"})
    publish("points", "earned", {"phone": PHONE, "points": 2, "balance": 2})
    wait_for(lambda: len(messages(notifier)) == 2)
    notifier.run_sender({})
    assert fake.received[-1]["texts"] == ["+2 (Gold member)"]


def test_delivery_reports_mark_sent_messages_delivered_once(notifier, publish, fake, db):
    publish("points", "earned", {"phone": PHONE, "points": 3, "balance": 3})
    wait_for(lambda: len(messages(notifier)) == 1)
    (message,) = messages(notifier)
    with pytest.raises(errors.Conflict):  # not sent yet
        notifier.record_delivery({"shop_id": SHOP, "message_id": message["message_id"], "status": "delivered"})
    notifier.run_sender({})
    report = {"shop_id": SHOP, "message_id": message["message_id"], "status": "delivered"}
    assert notifier.record_delivery(report)["status"] == "delivered"
    assert notifier.record_delivery(report)["delivered_at"] is not None
    assert len(outbox_events(db, "notifier.message_delivered")) == 1
    assert messages(notifier, status="delivered")[0]["message_id"] == message["message_id"]


def test_an_invalid_recipient_fails_at_once_without_retry(notifier, publish, fake, db):
    publish("points", "earned", {"phone": "+14155550123", "points": 3, "balance": 3})  # not a Thai mobile
    wait_for(lambda: len(messages(notifier)) == 1)
    assert notifier.run_sender({}) == {"sent": 0, "retry": 0, "failed": 1}
    (failed,) = messages(notifier, status="failed")
    assert failed["attempts"] == 1 and "invalid recipient" in failed["reason"]
