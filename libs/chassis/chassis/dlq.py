"""Look at and replay events that exhausted their retries.

    python -m chassis.dlq --config services/members/config.yaml count <queue>.dlq
    python -m chassis.dlq --config services/members/config.yaml replay <queue>.dlq [--limit N]

Replay moves each message back to the handler's queue with a fresh attempt
count, acking it in the dead-letter queue only after the broker confirmed the
copy.
"""
import argparse

from kombu import Connection, Queue
from nameko.amqp.publish import get_producer

from chassis import config as config_module
from chassis import events, logs

log = logs.get_logger("chassis.dlq")


def count(amqp_uri, dlq_name):
    with Connection(amqp_uri) as conn:
        _, message_count, _ = Queue(dlq_name, durable=True)(conn.channel()).queue_declare(passive=True)
        return message_count


def replay(amqp_uri, dlq_name, limit=None):
    if not dlq_name.endswith(".dlq"):
        raise ValueError("replay reads from a queue named <queue>.dlq")
    target = dlq_name[: -len(".dlq")]
    moved = 0
    with Connection(amqp_uri) as conn, get_producer(amqp_uri) as producer:
        queue = Queue(dlq_name, durable=True)(conn.channel())
        while limit is None or moved < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in message.headers.items()
                       if k not in (events.ATTEMPT_HEADER, "x-death")}
            producer.publish(
                message.body, exchange="", routing_key=target,
                content_type=message.content_type, content_encoding=message.content_encoding,
                headers=headers, delivery_mode=2,
            )
            message.ack()
            moved += 1
    return moved


def main(argv=None):
    parser = argparse.ArgumentParser(description="inspect and replay dead-lettered events")
    parser.add_argument("--config", required=True)
    parser.add_argument("action", choices=["count", "replay"])
    parser.add_argument("queue")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    if args.action == "count":
        log.info("dlq_count", queue=args.queue, messages=count(config["AMQP_URI"], args.queue))
    else:
        log.info("dlq_replayed", queue=args.queue, messages=replay(config["AMQP_URI"], args.queue, args.limit))


if __name__ == "__main__":
    main()
