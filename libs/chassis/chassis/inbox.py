"""Inbox: the ids of events a handler has applied, written with the effect.

`first_time()` is called inside the consumer's transaction before it applies an
event. A redelivered event finds its id and has no second effect; two
concurrent deliveries of one event serialise on the primary key.
"""
from marshmallow import EXCLUDE, Schema, fields

from chassis import errors

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


class EventData(Schema):
    """Base for the data of events a service consumes: tolerant of new fields."""

    class Meta:
        unknown = EXCLUDE


def load_event(data_schema, body):
    """Validate an incoming envelope and its data (unknown fields ignored).

    A malformed event raises errors.InvalidInput, which sends it straight to
    the handler's dead-letter queue: no retry can fix it.
    """
    event = errors.load(Envelope(), body, message="malformed event envelope")
    event["data"] = errors.load(data_schema, event["data"], message="malformed event data")
    return event


def first_time(conn, handler, envelope):
    """True if `handler` has not applied this event before (and records it now)."""
    row = conn.execute(
        CLAIM,
        {"handler": handler, "event_id": envelope["event_id"], "event_type": envelope["type"]},
    ).fetchone()
    return row is not None


def purge(conn, before):
    return conn.execute(PURGE, {"before": before}).rowcount
