"""Sign-in codes sent by SMS at once, once per challenge; members' LINE links into contacts."""
import uuid

import pytest

from chassis import errors
from chassis.testing import wait_for
from tests.integration.conftest import LINE_USER, PHONE, SHOP


def send(notifier, code="482913", challenge_id=None, **extra):
    return notifier.send_otp({"shop_id": SHOP, "phone": "081-234-5678", "code": code,
                              "challenge_id": challenge_id or str(uuid.uuid4()), **extra})


def test_a_code_goes_by_sms_at_once_and_the_log_keeps_it_masked(notifier, fake, db):
    answer = send(notifier)
    assert answer["status"] == "sent"
    (sms,) = fake.received
    assert sms["channel"] == "sms" and sms["to"] == "66812345678" and "482913" in sms["text"]
    assert sms["text"].startswith("Cafe: ")
    row = db.execute("SELECT trigger, kind, body, status FROM messages WHERE message_id = %s",
                     (answer["message_id"],)).fetchone()
    assert row["trigger"] == "otp" and row["status"] == "sent"
    assert "482913" not in row["body"] and "••••••" in row["body"]
    assert wait_for(lambda: db.execute("SELECT count(*) AS n FROM outbox WHERE routing_key = 'message_sent.v1'")
                    .fetchone()["n"] == 1)


def test_a_repeated_challenge_is_sent_once(notifier, fake):
    challenge_id = str(uuid.uuid4())
    first = send(notifier, challenge_id=challenge_id)
    again = send(notifier, challenge_id=challenge_id)
    assert again == first and len(fake.received) == 1


def test_a_code_ignores_opt_outs_and_speaks_the_members_language(notifier, fake):
    notifier.set_contact({"shop_id": SHOP, "phone": PHONE, "language": "en", "opt_out_transactional": True,
                          "opt_out_marketing": True})
    send(notifier, code="000123")
    assert fake.received[0]["text"] == "Cafe: your sign-in code is 000123. It is valid for 5 minutes. Never share it."


def test_a_shop_without_sms_gets_a_clear_refusal(notifier):
    with pytest.raises(errors.Conflict) as caught:
        notifier.send_otp({"shop_id": str(uuid.uuid4()), "phone": PHONE, "code": "123456",
                           "challenge_id": str(uuid.uuid4())})
    assert caught.value.code == "sms_not_configured"


def test_a_provider_that_fails_is_a_503_and_the_message_is_failed(notifier, fake, db):
    fake.fail.append(503)
    with pytest.raises(errors.Unavailable) as caught:
        send(notifier)
    assert caught.value.code == "sms_unavailable"
    assert db.execute("SELECT status FROM messages WHERE trigger = 'otp'").fetchone()["status"] == "failed"


def test_bad_input_names_the_field(notifier):
    with pytest.raises(errors.InvalidInput) as caught:
        notifier.send_otp({"shop_id": SHOP, "phone": "12", "code": "abc", "challenge_id": "x"})
    assert set(caught.value.fields) == {"phone", "code", "challenge_id"}


def test_a_line_link_from_members_sets_the_contact_once(notifier, publish, db):
    db.execute("INSERT INTO contacts (shop_id, phone, line_user_id, line_blocked) VALUES (%s, %s, %s, true)",
               (SHOP, PHONE, "U" + "b" * 32))
    event_id = publish("members", "line_linked", {"member_id": str(uuid.uuid4()), "phone": PHONE,
                                                  "line_user_id": LINE_USER})
    publish("members", "line_linked", {"member_id": str(uuid.uuid4()), "phone": PHONE,
                                       "line_user_id": LINE_USER}, event_id=event_id)

    def contact():
        return db.execute("SELECT line_user_id, line_blocked FROM contacts WHERE phone = %s", (PHONE,)).fetchone()

    assert wait_for(lambda: contact()["line_user_id"] == LINE_USER)
    assert contact()["line_blocked"] is False
    assert wait_for(lambda: db.execute("SELECT count(*) AS n FROM inbox WHERE handler = 'notifier.on_line_linked'")
                    .fetchone()["n"] == 1)


def test_unknown_fields_are_refused(notifier):
    with pytest.raises(errors.InvalidInput) as caught:
        send(notifier, extra_field=1)
    assert "extra_field" in caught.value.fields
