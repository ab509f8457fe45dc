"""Event handlers that neither lose a failing event nor spin on it.

nameko acks an event whose handler raised, and the event is gone; with
`requeue_on_error` it comes back at once, forever (stack-notes, pitfall 5).
This handler instead republishes a failed event to a delay queue that
dead-letters it back to the handler's own queue after a back-off
(1 s, 5 s, 30 s, 2 min, 10 min by default), then to `<queue>.dlq` where ops
can see it and replay it (`python -m chassis.dlq`). An expected error (bad
input: the event can never succeed) goes to the dead-letter queue at once.
The original is acked only after its copy is confirmed by the broker.

Handlers must still be idempotent (`chassis.inbox`): a retried event may have
been partly seen before.
"""
from functools import partial

import eventlet
from kombu import Queue
from nameko.amqp.publish import get_producer
from nameko.events import EventHandler as NamekoEventHandler
from nameko.exceptions import ContainerBeingKilled

from chassis import errors, logs

ATTEMPT_HEADER = "x-loyalty-attempt"
ERROR_HEADER = "x-loyalty-error"
DEFAULT_RETRY_DELAYS = (1, 5, 30, 120, 600)

log = logs.get_logger("chassis.events")


def retry_queue(queue_name, delay_seconds):
    return Queue(
        f"{queue_name}.retry.{delay_seconds}s",
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
            "x-message-ttl": int(delay_seconds * 1000),
        },
    )


def dead_letter_queue(queue_name):
    return Queue(f"{queue_name}.dlq", durable=True)


class EventHandler(NamekoEventHandler):
    """`@event_handler(source, "earned.v1")` with retry, back-off and a dead-letter queue."""

    @property
    def retry_delays(self):
        return tuple(self.container.config.get("EVENT_RETRY_DELAYS") or DEFAULT_RETRY_DELAYS)

    def failure_queues(self):
        """The delay queues and the dead-letter queue of this handler (for declaration)."""
        return [retry_queue(self.queue.name, d) for d in self.retry_delays] + [
            dead_letter_queue(self.queue.name)
        ]

    def unpack_message_headers(self, message):
        # Only nameko's own context travels on; broker headers (x-death, our
        # attempt counter) would otherwise leak into every downstream call.
        prefix = f"{self.header_prefix}."
        return {k[len(prefix):]: v for k, v in message.headers.items() if k.startswith(prefix)}

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        else:
            self.retry_or_dead_letter(message, exc_info[1])

    def retry_or_dead_letter(self, message, exc):
        """Send a copy to the next delay queue (or the dead-letter queue), then ack the original."""
        attempt = int(message.headers.get(ATTEMPT_HEADER, 0)) + 1
        delays = self.retry_delays
        if isinstance(exc, errors.EXPECTED) or attempt > len(delays):
            target = dead_letter_queue(self.queue.name)
        else:
            target = retry_queue(self.queue.name, delays[attempt - 1])
        headers = dict(message.headers)
        headers.pop("x-death", None)
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = f"{type(exc).__name__}: {exc}"[:500]
        try:
            with get_producer(self.container.config["AMQP_URI"]) as producer:
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=target.name,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    headers=headers,
                    delivery_mode=2,
                    declare=[target],
                    retry=True,
                    retry_policy={"max_retries": 3},
                )
        except Exception as publish_error:  # noqa: BLE001 - keep the event whatever failed
            log.error("event_retry_publish_failed", queue=self.queue.name, error=repr(publish_error))
            self.queue_consumer.requeue_message(message)
            return
        log.warning(
            "event_handler_failed",
            queue=self.queue.name,
            attempt=attempt,
            sent_to=target.name,
            error=headers[ERROR_HEADER],
        )
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator


DEFAULT_BATCH_WAIT = 0.02


class BatchEventHandler(EventHandler):
    """`@batch_event_handler(source, "earned.v1")`: the method gets a list of event bodies.

    Messages are gathered until `max_batch` (at most the container's prefetch,
    i.e. max_workers) or `max_wait` seconds after the first (default: the
    service's EVENT_BATCH_WAIT, else 0.02), then handled by
    one worker, typically in one transaction. After the worker:
      * it raised: every message of the batch takes the retry/dead-letter path;
      * it returned {index: reason}: those events are dead-lettered (bad input
        no retry can fix), the others acked.
    One `event_handled` log line per event carries that event's request id.
    """

    def __init__(self, source_service, event_type, max_batch=100, max_wait=None, **kwargs):
        self.max_batch = max_batch
        self.max_wait = max_wait
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        super().setup()
        self.max_batch = max(1, min(self.max_batch, self.container.max_workers))
        if self.max_wait is None:  # the service's EVENT_BATCH_WAIT (seconds): latency traded for fewer, bigger batches
            configured = self.container.config.get("EVENT_BATCH_WAIT")
            self.max_wait = DEFAULT_BATCH_WAIT if configured in (None, "") else float(configured)
        self._pending = []
        self._timer = None

    def handle_message(self, body, message):
        self._pending.append((body, message))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = eventlet.spawn_after(self.max_wait, self._flush)

    def _flush(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        bodies = [body for body, _ in batch]
        messages = [message for _, message in batch]
        try:
            self.container.spawn_worker(
                self, (bodies,), {}, context_data=self.unpack_message_headers(messages[0]),
                handle_result=partial(self.handle_batch_result, messages))
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def handle_batch_result(self, messages, worker_ctx, result=None, exc_info=None):
        rejected = result if isinstance(result, dict) else {}
        for index, message in enumerate(messages):
            event_id = _event_id(message)
            request_id = message.headers.get(f"{self.header_prefix}.request_id")
            if exc_info is not None:
                self.retry_or_dead_letter(message, exc_info[1])
                log.warning("event_handled", event_id=event_id, request_id=request_id, outcome="retry")
            elif index in rejected:
                self.retry_or_dead_letter(message, errors.InvalidInput("bad_event", str(rejected[index])))
                log.warning("event_handled", event_id=event_id, request_id=request_id, outcome="rejected",
                            reason=str(rejected[index]))
            else:
                self.queue_consumer.ack_message(message)
                log.info("event_handled", event_id=event_id, request_id=request_id, outcome="applied")
        return result, exc_info


def _event_id(message):
    try:
        body = message.payload
    except Exception:  # noqa: BLE001 - a body we cannot decode has no id to log
        return None
    return body.get("event_id") if isinstance(body, dict) else None


batch_event_handler = BatchEventHandler.decorator
