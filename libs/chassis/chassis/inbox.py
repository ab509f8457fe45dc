"""Inbox: the ids of events a handler has applied, written with the effect.

`first_time()` is called inside the consumer's transaction before it applies an
event. A redelivered event finds its id and has no second effect; two
concurrent deliveries of one event serialise on the primary key.
"""
from marshmallow import EXCLUDE, Schema, fields

CLAIM = """
INSERT INTO inbox (handler, event_id, event_type) VALUES (%(handler)s, %(event_id)s, %(event_type)s)
ON CONFLICT (handler, event_id) DO NOTHING
RETURNING event_id
"""
PURGE = "DELETE FROM inbox WHERE received_at < %(before)s"


class Envelope(Schema):
    """The envelope every event has. Consumers ignore fields they do not know."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    shop_id = fields.String(allow_none=True, load_default=None)
    data = fields.Dict(required=True)


def first_time(conn, handler, envelope):
    """True if `handler` has not applied this event before (and records it now)."""
    row = conn.execute(
        CLAIM,
        {"handler": handler, "event_id": envelope["event_id"], "event_type": envelope["type"]},
    ).fetchone()
    return row is not None


def purge(conn, before):
    return conn.execute(PURGE, {"before": before}).rowcount
