"""Declare a service's consumer queues before anything publishes.

RabbitMQ drops an event that matches no queue (stack-notes, pitfall 4). Run at
deploy/migrate time, this declares every event-handler queue of a service,
with its binding and its retry and dead-letter queues, using nameko's own
queue definitions, so the declaration is exactly what the service would make.
Queue types are left to the vhost's default (deploy/ sets it): nothing here
declares `x-queue-type`.

    python -m chassis.topology --config services/members/config.yaml members.service:MembersService
"""
import argparse
import importlib

from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.events import BROADCAST
from nameko.events import EventHandler as NamekoEventHandler

from chassis import config as config_module
from chassis import events, logs

log = logs.get_logger("chassis.topology")


def consumer_queues(service_cls, config):
    container = ServiceContainer(service_cls, config)
    declared = []
    for entrypoint in container.entrypoints:
        if not isinstance(entrypoint, NamekoEventHandler) or entrypoint.handler_type == BROADCAST:
            continue  # a broadcast queue belongs to one running replica and dies with it
        entrypoint.setup()
        declared.append(entrypoint.queue)
        if isinstance(entrypoint, events.EventHandler):
            declared.extend(entrypoint.failure_queues())
    return declared


def declare(service_cls, config):
    queues = consumer_queues(service_cls, config)
    with Connection(config["AMQP_URI"], connect_timeout=10) as conn:
        channel = conn.channel()
        for queue in queues:
            queue(channel).declare()
    return [q.name for q in queues]


def import_service(path):
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def main(argv=None):
    parser = argparse.ArgumentParser(description="declare a service's event queues")
    parser.add_argument("--config", required=True)
    parser.add_argument("service", help="module:Class")
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    names = declare(import_service(args.service), config)
    log.info("topology_declared", service=args.service, queues=len(names))


if __name__ == "__main__":
    main()
