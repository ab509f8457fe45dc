"""stamp_rpc: stamp grants per second through points.claim_stamps (RPC), a member's scan of a
branch's printed stamp QR code (one stamp, daily limit 100 per member, spread over the load's
customer phones).

The shop gets an active card of 10 stamps with a ticket at 10 (the demo's reward), so one
grant in ten fills a card: a ticket, stamps.ticket_earned and stamps.card_completed, and the
rewards service issues a coupon for it, as in a real shop. The grant path is two statements
(claim + member card row lock, entries + tickets) plus its outbox row(s).
"""
import uuid

from nameko.standalone.rpc import ClusterRpcProxy


def prepare(stack, shop_id, branch_id, reward_id):
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=30) as rpc:
        card = rpc.points.create_stamp_card({
            "idempotency_key": f"bench-{uuid.uuid4()}", "shop_id": shop_id, "name": "Bench coffee card",
            "stamps_to_fill": 10, "rule": {"mode": "per_visit"}, "tickets": [{"at": 10, "reward_id": reward_id}],
            "actor": {"type": "admin", "id": "bench"}})
        rpc.points.activate_stamp_card({"shop_id": shop_id, "card_id": card["card_id"]})
        printed = rpc.points.set_printed_stamp_qr({"shop_id": shop_id, "branch_id": branch_id, "enabled": True,
                                                   "stamps": 1, "daily_limit": 100})
    return {"stamp_token": printed["token"]}


def scan_request(setup, phone):
    """A member's scan of the printed code: a new idempotency key each time (each is a new visit)."""
    return lambda: {"shop_id": setup["shop_id"], "token": setup["stamp_token"], "phone": phone(),
                    "idempotency_key": uuid.uuid4().hex}
