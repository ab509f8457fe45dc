"""Sign-in codes by SMS for the members service, and members' LINE links into contacts.

A sign-in code is sent at once (not queued behind the sender): the member is waiting for
it and it is worthless after 5 minutes. It goes by the shop's SMS provider whatever the
member's opt-outs and the quiet hours (the member asked for it). The delivery log keeps
the message with the code masked; the challenge id is its dedupe key, so a retried call
sends once and answers what the first did.
"""
import datetime
import uuid

from marshmallow import Schema, fields, validate
from nameko.rpc import rpc

from chassis import errors, inbox
from chassis.errors import load
from chassis.events import event_handler
from chassis.fields import Phone
from chassis.inbox import EventData
from notifier import domain, event_contracts, store

CODE_MINUTES = 5
MASK = "••••••"
TEXTS = {
    "th": "{shop}: รหัสเข้าสู่ระบบของคุณคือ {code} ใช้ได้ {minutes} นาที ห้ามบอกรหัสนี้กับผู้อื่น",
    "en": "{shop}: your sign-in code is {code}. It is valid for {minutes} minutes. Never share it.",
}
BY_DEDUPE_KEY = f"""SELECT {store.MESSAGE_COLUMNS} FROM messages
WHERE shop_id = %(shop_id)s AND dedupe_key = %(dedupe_key)s"""
# A LINE account newly linked to the member: messages go by LINE from now on (a block
# recorded for another LINE account no longer holds).
LINK_LINE = """
INSERT INTO contacts (shop_id, phone, line_user_id) VALUES (%(shop_id)s, %(phone)s, %(line_user_id)s)
ON CONFLICT (shop_id, phone) DO UPDATE SET
    line_user_id = EXCLUDED.line_user_id,
    line_blocked = CASE WHEN contacts.line_user_id IS DISTINCT FROM EXCLUDED.line_user_id THEN false
                        ELSE contacts.line_blocked END,
    updated_at = now()
"""


class SendOtp(Schema):
    shop_id = fields.UUID(required=True)
    phone = Phone(required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4,8}\Z", error="4-8 digits"))
    challenge_id = fields.UUID(required=True)
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("th", "en")))
    shop_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


class LineLinked(EventData):
    """members.line_linked v1."""

    member_id = fields.String(required=True)
    phone = Phone(required=True)
    line_user_id = fields.String(required=True, validate=validate.Regexp(r"^U[0-9a-f]{32}\Z"))


def otp_text(code, shop_name, language):
    return TEXTS[language].format(shop=shop_name or "", code=code, minutes=CODE_MINUTES).lstrip(": ")


def _view(row):
    return {"message_id": str(row["message_id"]), "status": row["status"], "reason": row["reason"],
            "sms_parts": row["sms_parts"]}


def sms_not_configured():
    return errors.Conflict("sms_not_configured", "the shop has not enabled SMS: no code can be sent",
                           {"phone": ["the shop sends no SMS"]})


class OneTimeCodes:
    @event_handler("members", "line_linked.v1")
    def on_line_linked(self, body):
        """members.line_linked: the contact's LINE user id (messages go by LINE from now on). Once
        per event (inbox)."""
        event = inbox.load_event(LineLinked(), body)
        data = event["data"]
        with self.db.transaction() as conn:
            if inbox.first_time(conn, "notifier.on_line_linked", event):
                conn.execute(LINK_LINE, {"shop_id": event["shop_id"], "phone": data["phone"],
                                         "line_user_id": data["line_user_id"]})

    @rpc(expected_exceptions=errors.EXPECTED + (errors.Unavailable,))
    def send_otp(self, request):
        """Send a member's sign-in code by the shop's SMS provider, now. Once per `challenge_id`
        (a repeat answers the first outcome). Errors: sms_not_configured (409), sms_refused
        (422: e.g. not a mobile number), sms_unavailable (503: the provider did not take it).
        Events: notifier.message_sent or notifier.message_failed."""
        cmd = load(SendOtp(), request)
        shop_id, phone = cmd["shop_id"], cmd["phone"]
        dedupe_key = f"otp:{cmd['challenge_id']}"
        with self.db.transaction() as conn:
            shop = store.shop(conn, shop_id)
            if shop is None or not (shop["sms_enabled"] and shop["sms_provider"]):
                raise sms_not_configured()
            contact = store.contact(conn, shop_id, phone) or {}
            language = cmd["language"] or contact.get("language") or shop["language"] or "th"
            text = otp_text(cmd["code"], shop["shop_name"] or cmd["shop_name"], language)
            row = store.insert_message(
                conn, message_id=uuid.uuid4(), shop_id=shop_id, phone=phone, trigger="otp", kind="transactional",
                dedupe_key=dedupe_key, campaign_id=None, channel="sms", recipient=phone,
                body=text.replace(cmd["code"], MASK), flex=None, status="queued", reason=None, next_attempt_at=None,
                sms_parts=domain.sms_parts(text)[1])
            if row is None:  # a repeat: what the first call did
                return _view(conn.execute(BY_DEDUPE_KEY, {"shop_id": shop_id, "dedupe_key": dedupe_key}).fetchone())
        outcome = self.providers.sms.send(shop["sms_provider"], shop["sms_credentials"] or {}, shop["sms_sender"],
                                          phone, text, str(row["message_id"]))
        status = "sent" if outcome.status == "sent" else "failed"
        with self.db.transaction() as conn:
            row = store.settle(conn, row["message_id"], status, datetime.datetime.now(datetime.UTC), 0,
                               reason=outcome.reason, provider_id=outcome.provider_id)
            self.outbox.add(conn, f"notifier.message_{status}", 1, shop_id, event_contracts.MESSAGE.dump(row))
        self.log.info("otp_sms", message_id=str(row["message_id"]), status=status, reason=outcome.reason)
        if outcome.status == "permanent":
            raise errors.InvalidInput("sms_refused", f"the SMS provider refused the message: {outcome.reason}",
                                      {"phone": [outcome.reason or "refused"]})
        if outcome.status == "retry":
            raise errors.Unavailable("sms_unavailable", f"the SMS provider did not take the message: {outcome.reason}")
        return _view(row)
