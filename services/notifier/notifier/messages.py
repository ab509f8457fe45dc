"""Messages: made from events (one per triggering event, member and trigger), sent by the
sender with retries, recorded in the delivery log. Every state change has its event."""
import datetime
import uuid
import zoneinfo

import eventlet

from notifier import domain, event_contracts, providers, store, templates

SENDER_CONCURRENCY = 20


def _now():
    return datetime.datetime.now(datetime.UTC)


def _local_date(value, shop):
    if value is None:
        return ""
    tz = zoneinfo.ZoneInfo((shop or {}).get("timezone") or "Asia/Bangkok")
    try:
        return value.astimezone(tz).strftime("%d/%m/%Y")
    except OverflowError:  # a date at the end of time (9999-12-31 UTC) has no later local day
        return value.strftime("%d/%m/%Y")


def _language(contact, shop):
    return (contact or {}).get("language") or (shop or {}).get("language") or "th"


def _message(shop, contact, template, *, shop_id, phone, trigger, values, dedupe_key, campaign_id, now):
    """The row of one message from what was read for it (the shop, the contact, the shop's
    template or None): `enqueue` and `enqueue_many` share it, so both write the same rows."""
    kind = templates.TRIGGERS[trigger][0]
    channel, detail = domain.choose_channel(contact, shop, kind)
    language = _language(contact, shop)
    body = template or templates.DEFAULTS[(trigger, language)]
    text = templates.render(body, {"name": (contact or {}).get("name"), "shop": (shop or {}).get("shop_name"),
                                   "tier": (contact or {}).get("tier"), "link": (shop or {}).get("member_page_url"),
                                   **{k: _local_date(v, shop) if isinstance(v, datetime.datetime) else v
                                      for k, v in values.items()}})
    status, reason, recipient, next_at, parts, flex = "queued", None, None, now, None, None
    if trigger in ("coupon_received", "coupon_expiring") and channel == "line":
        expires = values.get("expires")
        flex = templates.coupon_flex((shop or {}).get("shop_name"), values.get("reward"), values.get("code") or "",
                                     _local_date(expires, shop) if isinstance(expires, datetime.datetime) else "",
                                     language)
    if channel == "none":
        status, reason = "skipped", detail
    elif channel == "line":
        recipient = detail
    else:
        recipient, parts = phone, domain.sms_parts(text)[1]
    if status == "queued" and kind == "marketing":
        next_at = domain.quiet_until(now, zoneinfo.ZoneInfo(shop["timezone"]), shop["quiet_start"], shop["quiet_end"])
    return dict(message_id=uuid.uuid4(), shop_id=shop_id, phone=phone, trigger=trigger, kind=kind,
                dedupe_key=dedupe_key, campaign_id=campaign_id, channel=channel, recipient=recipient, body=text,
                flex=flex, status=status, reason=reason, next_attempt_at=next_at if status == "queued" else None,
                sms_parts=parts)


def enqueue(conn, *, shop_id, phone, trigger, values, dedupe_key, campaign_id=None, now=None):
    """Record the message for (dedupe_key) once: queued on the member's channel (held until the
    end of quiet hours if it is marketing), or skipped with the reason. Returns the row, or
    None when this key was already recorded (a duplicate event). One message with its own
    reads; the event triggers use `enqueue_many`, which writes the same rows for a batch."""
    now = now or _now()
    shop = store.shop(conn, shop_id)
    contact = store.contact(conn, shop_id, phone)
    template = store.template(conn, shop_id, trigger, _language(contact, shop))
    return store.insert_message(conn, **_message(
        shop, contact, template, shop_id=shop_id, phone=phone, trigger=trigger, values=values,
        dedupe_key=dedupe_key, campaign_id=campaign_id, now=now))


def _key(shop_id):
    """A shop id as the batch reads key it: text, as the caller gave it (PostgreSQL parses it)."""
    return None if shop_id is None else str(shop_id)


def enqueue_many(conn, items, now=None):
    """`enqueue` for many messages at once (items: dicts of its keyword arguments), set-based:
    each shop read once, the contacts in one query, the templates in one, every row in one
    INSERT. The rows are those `enqueue` would write one after the other: a key repeated in
    the batch, or recorded before, is written once (the first). Returns the rows written."""
    now = now or _now()
    batch, seen = [], set()
    for item in items:
        if (_key(item["shop_id"]), item["dedupe_key"]) not in seen:
            seen.add((_key(item["shop_id"]), item["dedupe_key"]))
            batch.append(item)
    if not batch:
        return []
    if len(batch) == 1:  # a batch of one (a quiet hour): scalar parameters cost less to send than arrays
        row = enqueue(conn, **batch[0], now=now)
        return [] if row is None else [row]
    shops = store.shops(conn, {_key(i["shop_id"]) for i in batch})
    contacts = store.contacts(conn, {(_key(i["shop_id"]), i["phone"]) for i in batch})
    read = []
    for item in batch:
        shop, contact = shops.get(_key(item["shop_id"])), contacts.get((_key(item["shop_id"]), item["phone"]))
        read.append((item, shop, contact, (_key(item["shop_id"]), item["trigger"], _language(contact, shop))))
    bodies = store.templates_for(conn, {template for *_, template in read})
    # each message due a microsecond after the one before: sent in the order of their events
    return store.insert_messages(conn, [
        _message(shop, contact, bodies.get(template), shop_id=item["shop_id"], phone=item["phone"],
                 trigger=item["trigger"], values=item["values"], dedupe_key=item["dedupe_key"],
                 campaign_id=item.get("campaign_id"), now=now + datetime.timedelta(microseconds=index))
        for index, (item, shop, contact, template) in enumerate(read)])


MULTICAST_SIZE = 500  # LINE's limit of recipients per multicast


def enqueue_campaign(db, *, shop_id, campaign_id, phones, text, now=None):
    """A campaign's message to many members, set-based: one row per member (opted-out and
    unreachable ones recorded as skipped), the LINE ones grouped into multicasts of 500. Held
    until the end of quiet hours. Safe to repeat: a member gets a campaign once."""
    now = now or _now()
    with db.transaction() as conn:
        shop = store.shop(conn, shop_id)
        if shop is None:
            return None
        language = shop["language"]
        body = store.template(conn, shop_id, "campaign", language) or templates.DEFAULTS[("campaign", language)]
        text = templates.render(body, {"shop": shop["shop_name"], "text": text, "link": shop["member_page_url"]})
        send_at = domain.quiet_until(now, zoneinfo.ZoneInfo(shop["timezone"]), shop["quiet_start"], shop["quiet_end"])
        channels = store.enqueue_campaign(
            conn, shop_id=shop_id, campaign_id=campaign_id, phones=phones, body=text, send_at=send_at,
            line=bool(shop["line_token"]), sms=bool(shop["sms_enabled"] and shop["sms_provider"]),
            sms_parts=domain.sms_parts(text)[1])
        rows = store.unbatched(conn, shop_id, campaign_id)
        batches, assignments = [], []
        for start in range(0, len(rows), MULTICAST_SIZE):
            batch_id = uuid.uuid4()
            chunk = rows[start:start + MULTICAST_SIZE]
            batches.append({"batch_id": batch_id, "shop_id": shop_id, "campaign_id": campaign_id, "body": text,
                            "recipients": [r["recipient"] for r in chunk], "send_at": send_at})
            assignments.extend((r["message_id"], batch_id) for r in chunk)
        if batches:
            store.add_batches(conn, batches, assignments)
    return {"campaign_id": campaign_id, "line": channels.count("line"), "sms": channels.count("sms"),
            "skipped": channels.count("none"), "duplicates": len(set(phones)) - len(channels),
            "line_batches": len(batches), "send_at": send_at.isoformat(), "text": text}


def send_batches(db, outbox, line, now, limit=100, lease=120):
    """Send the due LINE multicasts of campaigns: the batch id is the retry key, so a batch
    tried again after a crash is delivered once."""
    with db.transaction() as conn:
        claimed = store.claim_batches(conn, now, limit, lease)
        shops = {row["shop_id"]: store.shop(conn, row["shop_id"]) for row in claimed}
    totals = {"sent": 0, "retry": 0, "failed": 0}

    def send(batch):
        token = (shops.get(batch["shop_id"]) or {}).get("line_token") or ""
        try:
            return batch, line.multicast(token, list(batch["recipients"]), batch["body"], str(batch["batch_id"]))
        except Exception as exc:  # noqa: BLE001 - retried like any transient failure
            return batch, providers.Outcome("retry", reason=f"unexpected {type(exc).__name__}")

    for batch, outcome in eventlet.GreenPool(SENDER_CONCURRENCY).imap(send, claimed):
        with db.transaction() as conn:
            if outcome.status == "retry" and batch["attempts"] < domain.MAX_ATTEMPTS:
                retry_at = now + datetime.timedelta(seconds=domain.backoff(batch["attempts"], outcome.retry_after))
                store.settle_batch(conn, batch["batch_id"], "queued", now, batch["attempts"], reason=outcome.reason,
                                   next_attempt_at=retry_at)
                totals["retry"] += len(batch["recipients"])
                continue
            status = "sent" if outcome.status == "sent" else "failed"
            rows = store.settle_batch(conn, batch["batch_id"], status, now, batch["attempts"], reason=outcome.reason,
                                      provider_id=outcome.provider_id)
            outbox.add_many(conn, f"notifier.message_{status}", 1,
                            ((row["shop_id"], event_contracts.MESSAGE.dump(row)) for row in rows))
            totals[status] += len(rows)
    return totals


DEFAULT_RATES = {"per_shop": 100, "line": 1000, "sms": 20}


def send_due(db, outbox, line, sms, now=None, limit=200, lease=60, rates=None):
    """Send every message due at `now` (default: the clock): claim a batch (leased), send each,
    then record sent, a retry after a back-off (Retry-After honoured), or failed; then the
    campaigns' LINE multicasts. `rates` caps a run per shop and per channel (the rest waits
    for the next run). Returns counts (of messages)."""
    now = now or _now()
    batched = send_batches(db, outbox, line, now)
    with db.transaction() as conn:
        claimed = store.claim_due(conn, now, limit, lease, {**DEFAULT_RATES, **(rates or {})})
        shops = {row["shop_id"]: store.shop(conn, row["shop_id"]) for row in claimed}
    totals = {"sent": 0, "retry": 0, "failed": 0}

    def send(message):
        shop = shops.get(message["shop_id"]) or {}
        if message["attempts"] > domain.MAX_ATTEMPTS:  # claimed again after a sender died: give up
            return providers.Outcome("retry", reason="no answer recorded")
        try:
            if message["channel"] == "line":
                return line.push(shop.get("line_token") or "", message["recipient"], message["body"],
                                 str(message["message_id"]), flex=message["flex"])
            return sms.send(shop.get("sms_provider"), shop.get("sms_credentials") or {}, shop.get("sms_sender"),
                            message["recipient"], message["body"], str(message["message_id"]))
        except Exception as exc:  # noqa: BLE001 - one message's surprise must not stop the others
            return providers.Outcome("retry", reason=f"unexpected {type(exc).__name__}")

    def send_and_record(message):
        """Each result is recorded as soon as it is known (one slow send holds up nothing else)."""
        outcome = send(message)
        attempts = message["attempts"]
        with db.transaction() as conn:
            if outcome.status == "sent":
                row = store.settle(conn, message["message_id"], "sent", now, attempts, reason=outcome.reason,
                                   provider_id=outcome.provider_id)
                event = "notifier.message_sent"
            elif outcome.status == "retry" and attempts < domain.MAX_ATTEMPTS:
                retry_at = now + datetime.timedelta(seconds=domain.backoff(attempts, outcome.retry_after))
                shop = shops.get(message["shop_id"])
                if message["kind"] == "marketing" and shop:
                    retry_at = domain.quiet_until(retry_at, zoneinfo.ZoneInfo(shop["timezone"]), shop["quiet_start"],
                                                  shop["quiet_end"])
                row = store.settle(conn, message["message_id"], "queued", now, attempts, reason=outcome.reason,
                                   next_attempt_at=retry_at)
                event = None
            else:
                reason = outcome.reason if outcome.status == "permanent" else \
                    f"gave up after {attempts} attempts: {outcome.reason}"
                row = store.settle(conn, message["message_id"], "failed", now, attempts, reason=reason)
                event = "notifier.message_failed"
            if row is not None and event:
                outbox.add(conn, event, 1, row["shop_id"], event_contracts.MESSAGE.dump(row))
        return "sent" if event == "notifier.message_sent" else "failed" if event else "retry"

    pool = eventlet.GreenPool(SENDER_CONCURRENCY)
    for result in pool.imap(send_and_record, claimed):
        totals[result] += 1
    return {key: totals[key] + batched[key] for key in totals}
