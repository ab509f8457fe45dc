"""notify_100k_line: one campaign message to 100,000 members linked on LINE, through the
notifier (set-based enqueue, LINE multicasts of 500) to the local fake LINE server the
stack runs. Contacts are bulk-loaded with SQL; the campaign goes through the notifier's
`send_campaign` RPC; the figure is the time from the call until every message is sent
(recorded as sent in the delivery log, the fake having answered each multicast)."""
import time
import uuid

import httpx
import psycopg
from nameko.standalone.rpc import ClusterRpcProxy

LOAD_CONTACTS = """
INSERT INTO contacts (shop_id, phone, line_user_id)
SELECT %(shop)s, '+6684' || lpad(n::text, 7, '0'), 'U' || lpad(to_hex(n), 32, '0')
FROM generate_series(0, %(members)s - 1) n
"""


def notify_line(stack, notifier_component, shop_id, members=100_000):
    dsn = stack.dsn(notifier_component)
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=600) as rpc:
        rpc.notifier.save_channels({"shop_id": shop_id, "shop_name": "Bench", "line_token": "token-bench-0123456789",
                                    "quiet_start": "00:00", "quiet_end": "00:00"})
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(LOAD_CONTACTS, {"shop": shop_id, "members": members})
            conn.execute("ANALYZE contacts")
        httpx.post(f"{stack.fakes_url}/_reset", timeout=10)
        campaign = f"bench-{uuid.uuid4().hex[:8]}"
        phones = [f"+6684{n:07d}" for n in range(members)]
        started = time.perf_counter()
        result = rpc.notifier.send_campaign({"shop_id": shop_id, "campaign_id": campaign, "phones": phones,
                                             "text": "Double points this weekend"})
        enqueued = time.perf_counter() - started
    assert result["line"] == members, result
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("SELECT EXISTS (SELECT 1 FROM messages WHERE campaign_id = %s AND status = 'queued')",
                           (campaign,)).fetchone()[0]:
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        sent = conn.execute("SELECT count(*) FROM messages WHERE campaign_id = %s AND status = 'sent'",
                            (campaign,)).fetchone()[0]
    received = httpx.get(f"{stack.fakes_url}/_received", timeout=30).json()
    delivered = sum(len(r["to"]) for r in received if r["channel"] == "line_multicast")
    assert sent == members and delivered == members, (sent, delivered)
    return {"seconds": round(seconds, 2), "messages": members, "msgs_per_s": round(members / seconds),
            "enqueue_seconds": round(enqueued, 2), "multicasts": len(received)}
