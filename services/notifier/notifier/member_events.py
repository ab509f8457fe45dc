"""Members' names and LINE links, from the members service's events, into the notifier's contacts."""
from marshmallow import fields

from chassis import inbox
from chassis.events import event_handler
from chassis.fields import Phone
from chassis.inbox import EventData

# Sets only what the event knows (a null LINE id in members.updated means "unlinked";
# in members.registered it means "none given", which keeps a link made before).
REMEMBER = """
INSERT INTO contacts (shop_id, phone, name, line_user_id) VALUES (%(shop_id)s, %(phone)s, %(name)s, %(line_user_id)s)
ON CONFLICT (shop_id, phone) DO UPDATE SET
    name = EXCLUDED.name,
    line_user_id = CASE WHEN %(replace_line)s THEN EXCLUDED.line_user_id
                        ELSE coalesce(EXCLUDED.line_user_id, contacts.line_user_id) END,
    line_blocked = CASE WHEN EXCLUDED.line_user_id IS DISTINCT FROM contacts.line_user_id
                        AND EXCLUDED.line_user_id IS NOT NULL THEN false ELSE contacts.line_blocked END,
    updated_at = now()
"""


class MemberProfile(EventData):
    """members.registered / members.updated v1, as far as messages need them."""

    phone = Phone(required=True)
    name = fields.String(load_default=None, allow_none=True)
    line_user_id = fields.String(load_default=None, allow_none=True)


class MemberEvents:
    @event_handler("members", "registered.v1")
    def on_member_registered(self, body):
        """members.registered: the member's name and LINE user id, so messages greet them by
        name and go by LINE."""
        self._remember("notifier.on_member_registered", body, replace_line=False)

    @event_handler("members", "updated.v1")
    def on_member_updated(self, body):
        """members.updated: a changed name or LINE link (null: unlinked, messages go by SMS)."""
        self._remember("notifier.on_member_updated", body, replace_line=True)

    def _remember(self, handler, body, replace_line):
        event = inbox.load_event(MemberProfile(), body)
        data = event["data"]
        with self.db.transaction() as conn:
            if inbox.first_time(conn, handler, event):
                conn.execute(REMEMBER, {"shop_id": event["shop_id"], "phone": data["phone"], "name": data["name"],
                                        "line_user_id": data["line_user_id"], "replace_line": replace_line})
