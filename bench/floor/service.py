"""The floor under a value-creating write on this machine: what any design with our
guarantees must pay, measured beside the trivial RPC (`rpc_ceiling`).

`floor.write`: a validated request, one idempotent INSERT committed (no BEGIN/COMMIT round
trips), a small answer. `floor.write_event`: the same INSERT and its event's outbox row in
one statement, published by the relay and consumed by two batch handlers (as members and
the notifier consume `points.earned`), each recording the event in its inbox.
`floor.hop`: one RPC from the floor service to another service that answers at once, the
transport alone of an operation that spans two services (as a redemption does).

No business rule: it stands for the least a sale could cost, not for a sale.
"""
from marshmallow import Schema, fields, validate
from nameko.rpc import rpc

from chassis import inbox
from chassis.errors import load
from chassis.events import batch_event_handler
from chassis.rpc import RpcClient
from chassis.service import ServiceBase


class WriteRequest(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    shop_id = fields.UUID(required=True)
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))
    amount = fields.Integer(required=True, validate=validate.Range(min=0))


class WrittenData(inbox.EventData):
    phone = fields.String(required=True)
    amount = fields.Integer(required=True)


WRITE_REQUEST = WriteRequest()
WRITTEN_DATA = WrittenData()

WRITE = """
INSERT INTO writes (shop_id, idempotency_key, phone, amount) VALUES (%(shop_id)s, %(key)s, %(phone)s, %(amount)s)
ON CONFLICT DO NOTHING RETURNING write_id, created_at
"""
WRITE_WITH_EVENT = """
WITH w AS (
    INSERT INTO writes (shop_id, idempotency_key, phone, amount)
    VALUES (%(shop_id)s, %(key)s, %(phone)s, %(amount)s)
    ON CONFLICT DO NOTHING RETURNING write_id, created_at
), e AS (
    INSERT INTO outbox (event_id, exchange, routing_key, envelope, headers)
    SELECT %(event_id)s::uuid, %(exchange)s::text, %(routing_key)s::text, %(envelope)s::jsonb, %(headers)s::jsonb
    FROM w
)
SELECT write_id, created_at FROM w
"""


class FloorService(ServiceBase):
    name = "floor"
    sink = RpcClient("floorsink")  # as services call each other: with a deadline

    @rpc
    def hop(self, request):
        return self.sink.call("echo", request)

    @rpc
    def write(self, request):
        cmd = load(WRITE_REQUEST, request)
        with self.db.connection() as conn:
            row = conn.execute(WRITE, {**cmd, "key": cmd["idempotency_key"]}).fetchone()
        return {"write_id": row["write_id"] if row else None, "replayed": row is None}

    @rpc
    def write_event(self, request):
        cmd = load(WRITE_REQUEST, request)
        event, _ = self.outbox.row("floor.written", 1, cmd["shop_id"], {"phone": cmd["phone"], "amount": cmd["amount"]})
        with self.db.connection() as conn:
            row = conn.execute(WRITE_WITH_EVENT, {**cmd, **event, "key": cmd["idempotency_key"]}).fetchone()
        return {"write_id": row["write_id"] if row else None, "replayed": row is None}


class FloorSink(ServiceBase):
    """Two consumers of floor.written (two queues), each claiming its events in its inbox; `echo`
    answers the floor's hop."""

    name = "floorsink"

    @rpc
    def echo(self, request):
        return request

    @batch_event_handler("floor", "written.v1")
    def first(self, bodies):
        return self._claim("floorsink.first", bodies)

    @batch_event_handler("floor", "written.v1")
    def second(self, bodies):
        return self._claim("floorsink.second", bodies)

    def _claim(self, handler, bodies):
        events, rejected = inbox.load_events(WRITTEN_DATA, bodies)
        with self.db.transaction() as conn:
            inbox.first_time_many(conn, handler, events)
        return rejected
