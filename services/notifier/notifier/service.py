"""The notifier: LINE and SMS messages from the platform's events, sent once each, with
templates per shop and language, channel choice, opt-outs, quiet hours, retries and a
delivery log. Contracts: contracts.py; events: event_contracts.py, docs/events.md."""
import datetime

import psycopg
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from chassis import errors, inbox
from chassis.errors import load
from chassis.events import batch_event_handler
from chassis.service import ServiceBase
from notifier import contracts, domain, event_contracts, messages, providers, store, templates
from notifier.entrypoints_otp import OneTimeCodes
from notifier.member_events import MemberEvents
from notifier.privacy import Privacy

MESSAGE = event_contracts.MESSAGE


class Providers(DependencyProvider):
    """The real LINE and SMS clients, pointed at the URLs of the config (the fakes locally)."""

    def setup(self):
        config = self.container.config
        self.line = providers.Line(config.get("LINE_API_URL") or "https://api.line.me")
        self.sms = providers.Sms(config.get("THAIBULKSMS_URL") or "https://api-v2.thaibulksms.com")
        limits = config.get("SEND_RATES") or {}
        self.rates = {key: int(limits.get(name, messages.DEFAULT_RATES[key]))
                      for key, name in (("per_shop", "PER_SHOP"), ("line", "LINE"), ("sms", "SMS"))}

    def get_dependency(self, worker_ctx):
        return self


# Failures a retry can cure: the batch is retried as it is, not split.
TRANSIENT = (psycopg.OperationalError, errors.Unavailable)


def _now():
    return datetime.datetime.now(datetime.UTC)


def _channels_view(row):
    """A shop's channels without their secrets."""
    if row is None:
        return None
    return {"shop_id": str(row["shop_id"]), "shop_name": row["shop_name"], "member_page_url": row["member_page_url"],
            "line_linked": bool(row["line_token"]),
            "sms_enabled": row["sms_enabled"], "sms_provider": row["sms_provider"], "sms_sender": row["sms_sender"],
            "timezone": row["timezone"], "language": row["language"],
            "quiet_start": row["quiet_start"].isoformat(), "quiet_end": row["quiet_end"].isoformat()}


class NotifierService(MemberEvents, OneTimeCodes, Privacy, ServiceBase):
    name = "notifier"
    providers = Providers()

    # --- settings ----------------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def save_channels(self, request):
        """A shop's LINE channel access token, SMS provider (thaibulksms or webhook) with its sender
        and credentials, language and quiet hours. Secrets are stored, never returned or logged."""
        cmd = load(contracts.Channels(), request)
        with self.db.transaction() as conn:
            current = store.shop(conn, cmd["shop_id"]) or {}
            row = store.save_shop(conn, **{
                **cmd, "line_token": cmd["line_token"] if "line_token" in cmd else current.get("line_token"),
                "sms_credentials": cmd["sms_credentials"] if "sms_credentials" in cmd
                else current.get("sms_credentials"),
                "quiet_start": cmd["quiet_start"] or current.get("quiet_start") or datetime.time(21),
                "quiet_end": cmd["quiet_end"] or current.get("quiet_end") or datetime.time(8)})
        return _channels_view(row)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_channels(self, request):
        cmd = load(contracts.ShopRef(), request)
        with self.db.connection() as conn:
            row = store.shop(conn, cmd["shop_id"])
        if row is None:
            raise errors.NotFound("channels_not_found", "this shop has set no channels", {"shop_id": ["no channels"]})
        return _channels_view(row)

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_contact(self, request):
        """What the notifier knows of a member: name, language, LINE user id (and whether they
        blocked the shop), opt-outs of marketing and of transactional messages."""
        cmd = load(contracts.Contact(), request)
        with self.db.transaction() as conn:
            row = store.save_contact(conn, **cmd)
        return {**row, "shop_id": str(row["shop_id"]), "updated_at": row["updated_at"].isoformat()}

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_template(self, request):
        """A shop's text for a trigger and language; fields in braces, only the trigger's own."""
        cmd = load(contracts.Template(), request)
        try:
            templates.check(cmd["trigger"], cmd["body"])
        except templates.TemplateError as exc:
            raise errors.InvalidInput("invalid_template", str(exc), {"body": [str(exc)]}) from None
        with self.db.transaction() as conn:
            store.save_template(conn, cmd["shop_id"], cmd["trigger"], cmd["language"], cmd["body"])
        return {"trigger": cmd["trigger"], "language": cmd["language"], "body": cmd["body"]}

    @rpc(expected_exceptions=errors.EXPECTED)
    def preview(self, request):
        """The text a trigger would send (the shop's template, or `body`, or the default)."""
        cmd = load(contracts.Preview(), request)
        body = cmd["body"]
        if body is not None:
            try:
                templates.check(cmd["trigger"], body)
            except templates.TemplateError as exc:
                raise errors.InvalidInput("invalid_template", str(exc), {"body": [str(exc)]}) from None
        with self.db.connection() as conn:
            body = body or store.template(conn, cmd["shop_id"], cmd["trigger"], cmd["language"]) or \
                templates.DEFAULTS[(cmd["trigger"], cmd["language"])]
            shop = store.shop(conn, cmd["shop_id"]) or {}
        text = templates.render(body, {"shop": shop.get("shop_name"), "link": shop.get("member_page_url"),
                                       **cmd["values"]})
        return {"text": text, "sms_parts": domain.sms_parts(text)[1]}

    # --- the delivery log --------------------------------------------------------

    @rpc(expected_exceptions=errors.EXPECTED)
    def messages(self, request):
        """The delivery log, newest first, by member, campaign or status."""
        cmd = load(contracts.Messages(), request)
        with self.db.connection() as conn:
            rows = store.messages(conn, cmd["shop_id"], cmd["phone"], cmd["campaign_id"], cmd["status"], cmd["limit"])
        return {"messages": [{**MESSAGE.dump(r), "body": r["body"]} for r in rows]}

    @rpc(expected_exceptions=errors.EXPECTED)
    def resend(self, request):
        """Queue a failed message again (an admin's re-send), with its attempts reset."""
        cmd = load(contracts.MessageRef(), request)
        with self.db.transaction() as conn:
            row = store.resend(conn, cmd["shop_id"], cmd["message_id"], _now())
            if row is None:
                found = store.message(conn, cmd["shop_id"], cmd["message_id"])
                if found is None:
                    raise errors.NotFound("message_not_found", "no such message", {"message_id": ["unknown"]})
                raise errors.Conflict("not_failed", f"this message is {found['status']}; only failed ones are re-sent",
                                      {"message_id": [found["status"]]})
        return MESSAGE.dump(row)

    @rpc(expected_exceptions=errors.EXPECTED)
    def send_campaign(self, request):
        """A campaign message to up to 200,000 members (E.164 phones): LINE multicasts of 500 for
        linked members, SMS for the others if the shop enabled it, skipped (and recorded) for
        the opted-out and unreachable; held until the end of quiet hours. A member gets a
        campaign once, however often this is called."""
        cmd = load(contracts.Campaign(), request)
        result = messages.enqueue_campaign(self.db, shop_id=cmd["shop_id"], campaign_id=cmd["campaign_id"],
                                           phones=cmd["phones"], text=cmd["text"])
        if result is None:
            raise errors.NotFound("channels_not_found", "this shop has set no channels", {"shop_id": ["no channels"]})
        return result

    @rpc(expected_exceptions=errors.EXPECTED)
    def record_delivery(self, request):
        """A provider's delivery report (the SMS webhook's callback, through the gateway): a sent
        message becomes delivered, or failed after all. Events: notifier.message_delivered,
        notifier.message_failed. Repeating a report changes nothing more."""
        cmd = load(contracts.Delivery(), request)
        with self.db.transaction() as conn:
            current = store.message(conn, cmd["shop_id"], cmd["message_id"])
            if current is None:
                raise errors.NotFound("message_not_found", "no such message", {"message_id": ["unknown"]})
            if current["status"] == cmd["status"]:
                return MESSAGE.dump(current)
            row = store.record_delivery(conn, cmd["shop_id"], cmd["message_id"], cmd["status"], cmd["at"] or _now(),
                                        cmd["reason"])
            if row is None:
                raise errors.Conflict("not_sent", f"this message is {current['status']}, not sent",
                                      {"message_id": [current["status"]]})
            self.outbox.add(conn, f"notifier.message_{cmd['status']}", 1, row["shop_id"], MESSAGE.dump(row))
        return MESSAGE.dump(row)

    # --- sending -----------------------------------------------------------------

    @timer(interval=1)
    def sender(self):
        """Every second: send what is due (config SENDER_ENABLED: false leaves it to run_sender)."""
        if str(self.config.get("SENDER_ENABLED", "true")).lower() in ("false", "0", "no"):
            return
        totals = messages.send_due(self.db, self.outbox, self.providers.line, self.providers.sms,
                                   rates=self.providers.rates)
        if any(totals.values()):
            self.log.info("messages_sent", **totals)

    @rpc(expected_exceptions=errors.EXPECTED)
    def run_sender(self, request=None):
        """Send what is due as of `now` (default: the clock); tests and ops move time with it."""
        cmd = load(contracts.SendNow(), request or {})
        return messages.send_due(self.db, self.outbox, self.providers.line, self.providers.sms, cmd["now"],
                                 rates=self.providers.rates)

    # --- triggers ----------------------------------------------------------------

    def _from_events(self, handler, schema, bodies, make, before=None):
        """A batch of one trigger's events: the malformed ones are returned as {index: reason}
        (dead-lettered), the others applied once each (inbox) in one transaction, with all
        their messages enqueued together. If the batch fails for a reason that is not
        transient (the database refuses an event's data, an event's values cannot be
        rendered), each event is applied alone, so that only the failing ones are
        dead-lettered and the others are not held back with them. A transient failure (the
        database unreachable) fails the batch: it is retried, and the events already applied
        alone are skipped then by the inbox."""
        events, rejected = inbox.load_events(schema, bodies)
        try:
            self._apply(handler, events, make, before)
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - one event's failure must not sink the batch
            self.log.warning("event_batch_split", handler=handler, events=len(events), error=type(exc).__name__)
            for index, event in zip([i for i in range(len(bodies)) if i not in rejected], events, strict=True):
                try:
                    self._apply(handler, [event], make, before)
                except TRANSIENT:
                    raise
                except Exception as refused:  # noqa: BLE001 - this event alone fails: dead-lettered
                    self.log.warning("event_refused", handler=handler, event_id=str(event["event_id"]),
                                     error=f"{type(refused).__name__}: {refused}")
                    rejected[index] = f"refused: {type(refused).__name__}: {refused}"
        return rejected

    def _apply(self, handler, events, make, before):
        with self.db.transaction() as conn:
            if len(events) == 1:  # a batch of one (a quiet hour): scalar parameters cost less than arrays
                fresh = events if inbox.first_time(conn, handler, events[0]) else []
            else:
                fresh = inbox.first_time_many(conn, handler, events)
            if before is not None:
                before(conn, fresh)
            messages.enqueue_many(conn, [
                {"shop_id": event["shop_id"], "phone": phone, "trigger": trigger, "values": values,
                 "dedupe_key": key}
                for event in fresh for phone, trigger, values, key in make(event["data"], event)])

    @batch_event_handler("points", "earned.v1")
    def on_points_earned(self, bodies):
        """points.earned: 'you earned N points' (not for a sale that earned 0)."""
        def make(data, event):
            if data["points"] > 0:
                yield data["phone"], "points_earned", {"points": data["points"], "balance": data["balance"]}, \
                    f"{event['event_id']}:points_earned"
        return self._from_events("notifier.on_points_earned", event_contracts.PointsEarned(), bodies, make)

    @batch_event_handler("points", "expiring_soon.v1")
    def on_points_expiring(self, bodies):
        def make(data, event):
            yield data["phone"], "points_expiring", {"points": data["points"], "expires": data["expires_at"]}, \
                f"{event['event_id']}:points_expiring"
        return self._from_events("notifier.on_points_expiring", event_contracts.PointsExpiring(), bodies, make)

    @batch_event_handler("rewards", "coupon_issued.v1")
    def on_coupon_issued(self, bodies):
        def make(data, event):
            yield data["phone"], "coupon_received", {"reward": data["name"], "code": data["code"],
                                                     "expires": data["expires_at"]}, f"{event['event_id']}:coupon"
        return self._from_events("notifier.on_coupon_issued", event_contracts.CouponData(), bodies, make)

    @batch_event_handler("rewards", "coupons_issued.v1")
    def on_coupons_issued(self, bodies):
        """A batch of given coupons: one message per coupon."""
        def make(data, event):
            for coupon in data["coupons"]:
                yield coupon["phone"], "coupon_received", {"reward": data["name"], "code": coupon["code"],
                                                           "expires": data["expires_at"]}, \
                    f"{event['event_id']}:{coupon['coupon_id']}"
        return self._from_events("notifier.on_coupons_issued", event_contracts.CouponsIssued(), bodies, make)

    @batch_event_handler("rewards", "coupon_expiring_soon.v1")
    def on_coupon_expiring(self, bodies):
        def make(data, event):
            yield data["phone"], "coupon_expiring", {"reward": data["name"], "code": data["code"],
                                                     "expires": data["expires_at"]}, f"{event['event_id']}:expiring"
        return self._from_events("notifier.on_coupon_expiring", event_contracts.CouponData(), bodies, make)

    @batch_event_handler("rewards", "delivery_status_changed.v1")
    def on_delivery_changed(self, bodies):
        def make(data, event):
            yield data["phone"], "delivery_status", {"reward": data["name"], "status": data["status"],
                                                     "carrier": data["carrier"], "tracking_no": data["tracking_no"]}, \
                f"{event['event_id']}:delivery"
        return self._from_events("notifier.on_delivery_changed", event_contracts.DeliveryChanged(), bodies, make)

    @batch_event_handler("members", "tier_changed.v1")
    def on_tier_changed(self, bodies):
        """members.tier_changed (issue #4's contract: from, to, reason): 'your tier is now X'
        (not when a member loses every tier). The tiers are remembered before the messages are
        made, as one by one (a member's last event of the batch sets their tier)."""
        def make(data, event):
            if data["to"]:
                yield data["phone"], "tier_changed", {"tier": data["to"], "previous": data["previous"]}, \
                    f"{event['event_id']}:tier"
        def remember(conn, events):
            store.set_tiers(conn, [(event["shop_id"], event["data"]["phone"], event["data"]["to"])
                                   for event in events])
        return self._from_events("notifier.on_tier_changed", event_contracts.TierChanged(), bodies, make,
                                 before=remember)
