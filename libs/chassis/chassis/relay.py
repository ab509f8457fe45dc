"""The outbox relay: publishes committed outbox rows to RabbitMQ.

One process per service database (more replicas may run: rows are claimed
with FOR UPDATE SKIP LOCKED). Each round claims a batch, publishes it on a
channel in confirm mode, waits for the broker's confirms for the whole batch
(one round trip, not one per message; stack-notes pitfall 3), and marks only
the confirmed rows published, in the same transaction that claimed them.
If RabbitMQ is down the rows stay unpublished and the relay retries with
back-off; a batch confirmed but not yet marked is published again after a
crash, which consumers absorb through their inbox.

Messages are published to `<service>.events` (topic, durable, declared exactly
as nameko declares it) with the routing key `<name>.v<version>`, persistent,
with `mandatory`: an event no queue is bound to is marked `unroutable` in the
outbox rather than vanishing unseen.

    python -m chassis.relay --config services/points/config.yaml
"""
import argparse
import json
import signal
import threading
import time

import amqp
import kombu.exceptions
import psycopg
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from psycopg.rows import dict_row

from chassis import config as config_module
from chassis import logs

log = logs.get_logger("chassis.relay")

CLAIM = """
SELECT id, event_id, exchange, routing_key, envelope, headers
FROM outbox WHERE published_at IS NULL
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
MARK = """
UPDATE outbox SET published_at = now(), unroutable = (id = ANY(%(unroutable)s))
WHERE id = ANY(%(ids)s)
"""
PURGE = "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => %(hours)s)"


class PublishFailed(Exception):
    pass


class ConfirmingPublisher:
    """A channel in publisher-confirm mode that publishes a batch and waits once."""

    def __init__(self, amqp_uri, nameko_config, confirm_timeout=10.0, heartbeat=10):
        self.amqp_uri = amqp_uri
        self.nameko_config = nameko_config
        self.confirm_timeout = confirm_timeout
        self.heartbeat = heartbeat
        self.connection = None
        self.channel = None

    def connect(self):
        self.close()
        self.connection = Connection(self.amqp_uri, heartbeat=self.heartbeat, connect_timeout=5)
        self.connection.ensure_connection(max_retries=1)
        self.channel = self.connection.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.channel.events["basic_return"].add(self._on_return)
        self.seq = 0
        self.pending = {}
        self.confirmed, self.nacked, self.returned = set(), set(), set()
        self.declared = set()

    def close(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
                pass
        self.connection = self.channel = None

    def _settle(self, tag, multiple, into):
        tags = [t for t in self.pending if t <= tag] if multiple else [tag]
        for t in tags:
            row_id = self.pending.pop(t, None)
            if row_id is not None:
                into.add(row_id)

    def _on_ack(self, tag, multiple):
        self._settle(tag, multiple, self.confirmed)

    def _on_nack(self, tag, multiple):
        self._settle(tag, multiple, self.nacked)

    def _on_return(self, exc, exchange, routing_key, message):
        self.returned.add(message.properties.get("message_id"))

    def keep_alive(self):
        """Read what the broker sent (its heartbeats) and send ours when due.

        Without this an idle relay's connection is closed by the broker after two
        missed heartbeats, and the next event waits for a reconnect.
        """
        if self.connection is None:
            return
        try:
            self.connection.drain_events(timeout=0)
        except TimeoutError:
            pass
        self.connection.heartbeat_check()

    def _declare(self, exchange_name):
        if exchange_name in self.declared:
            return
        source = exchange_name[: -len(".events")]
        get_event_exchange(source, self.nameko_config)(self.channel).declare()
        self.declared.add(exchange_name)

    def publish_batch(self, rows):
        """Publish rows; return (confirmed row ids, unroutable row ids)."""
        if self.channel is None:
            self.connect()
        self.confirmed, self.nacked, self.returned = set(), set(), set()
        by_event = {}
        for row in rows:
            self._declare(row["exchange"])
            self.seq += 1
            self.pending[self.seq] = row["id"]
            event_id = str(row["event_id"])
            by_event[event_id] = row["id"]
            message = amqp.Message(
                json.dumps(row["envelope"], ensure_ascii=False),
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=event_id,
                application_headers=row["headers"] or {},
            )
            self.channel.basic_publish(
                message, exchange=row["exchange"], routing_key=row["routing_key"], mandatory=True
            )
        deadline = time.monotonic() + self.confirm_timeout
        while self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishFailed(f"{len(self.pending)} confirms not received in time")
            try:
                self.connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        unroutable = {by_event[e] for e in self.returned if e in by_event}
        return self.confirmed, unroutable


class Relay:
    def __init__(self, dsn, publisher, batch_size=500, poll_interval=0.05, retention_hours=72):
        self.dsn = dsn
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention_hours = retention_hours
        self.conn = None
        self.stopping = threading.Event()
        self.published_total = 0
        self.unroutable_total = 0

    def _db(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, row_factory=dict_row, connect_timeout=5)
        return self.conn

    def drain_once(self):
        """Publish one batch. Returns how many rows were claimed."""
        conn = self._db()
        with conn.transaction():
            # Never a prepared statement here: a generic plan made while the outbox was small
            # (a sequential scan) stays cached after a job writes a million rows, and every
            # batch then scans the whole table. Planned each time, they use the indexes.
            rows = conn.execute(CLAIM, {"limit": self.batch_size}, prepare=False).fetchall()
            if not rows:
                return 0
            confirmed, unroutable = self.publisher.publish_batch(rows)
            if confirmed:
                conn.execute(MARK, {"ids": list(confirmed), "unroutable": list(unroutable)}, prepare=False)
        self.published_total += len(confirmed)
        self.unroutable_total += len(unroutable)
        if unroutable:
            log.warning("outbox_events_unroutable", count=len(unroutable))
        if len(confirmed) < len(rows):
            log.warning("outbox_events_not_confirmed", count=len(rows) - len(confirmed))
        return len(rows)

    def purge(self):
        conn = self._db()
        with conn.transaction():
            return conn.execute(PURGE, {"hours": self.retention_hours}).rowcount

    def run(self):
        backoff = 0.5
        last_report = last_purge = time.monotonic()
        log.info("relay_started", batch_size=self.batch_size)
        while not self.stopping.is_set():
            try:
                claimed = self.drain_once()
                self.publisher.keep_alive()
                backoff = 0.5
                if claimed < self.batch_size:
                    self.stopping.wait(self.poll_interval)
                if time.monotonic() - last_purge > 600:
                    last_purge = time.monotonic()
                    log.info("outbox_purged", rows=self.purge())
            except (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError, PublishFailed) as exc:
                log.warning("relay_broker_unavailable", error=repr(exc), retry_in=backoff)
                self.publisher.close()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except psycopg.OperationalError as exc:
                log.warning("relay_database_unavailable", error=repr(exc), retry_in=backoff)
                self.conn = None
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                log.info("relay_progress", published_total=self.published_total,
                         unroutable_total=self.unroutable_total)
        self.publisher.close()
        log.info("relay_stopped", published_total=self.published_total)


def build(config):
    settings = config_module.db_settings(config)
    outbox = config.get("OUTBOX") or {}
    publisher = ConfirmingPublisher(config["AMQP_URI"], config)
    return Relay(
        settings["DSN"],
        publisher,
        batch_size=int(outbox.get("BATCH_SIZE", 500)),
        poll_interval=float(outbox.get("POLL_INTERVAL", 0.05)),
        retention_hours=int(outbox.get("RETENTION_HOURS", 72)),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    relay = build(config)

    def stop(signum, frame):
        relay.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()


if __name__ == "__main__":
    main()
