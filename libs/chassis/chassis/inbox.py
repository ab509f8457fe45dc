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
CLAIM_MANY = """
INSERT INTO inbox (handler, event_id, event_type)
SELECT %(handler)s, e.event_id, e.event_type
FROM unnest(%(event_ids)s::uuid[], %(event_types)s::text[]) AS e (event_id, event_type)
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
    event = errors.load(_ENVELOPE, body, message="malformed event envelope")
    event["data"] = errors.load(data_schema, event["data"], message="malformed event data")
    return event


_ENVELOPE = Envelope()


def first_time(conn, handler, envelope):
    """True if `handler` has not applied this event before (and records it now)."""
    row = conn.execute(
        CLAIM,
        {"handler": handler, "event_id": envelope["event_id"], "event_type": envelope["type"]},
    ).fetchone()
    return row is not None


def first_time_many(conn, handler, envelopes):
    """The envelopes `handler` has not applied before (recording them now), in their order.

    One statement for a whole batch; an event twice in the batch counts once.
    """
    if not envelopes:
        return []
    new_ids = {row["event_id"] for row in conn.execute(CLAIM_MANY, {
        "handler": handler,
        "event_ids": [e["event_id"] for e in envelopes],
        "event_types": [e["type"] for e in envelopes],
    })}
    fresh = []
    for envelope in envelopes:
        if envelope["event_id"] in new_ids:
            new_ids.discard(envelope["event_id"])
            fresh.append(envelope)
    return fresh


def load_events(data_schema, bodies):
    """(valid envelopes, {index: reason}) for a batch: one malformed event does not sink the rest."""
    valid, rejected = [], {}
    for index, body in enumerate(bodies):
        try:
            valid.append(load_event(data_schema, body))
        except errors.InvalidInput as exc:
            rejected[index] = f"{exc.message}: {exc.fields}"
    return valid, rejected


def purge(conn, before):
    return conn.execute(PURGE, {"before": before}).rowcount
