import time

from nameko.standalone.events import event_dispatcher

from chassis import dlq, errors, topology
from chassis.events import event_handler
from chassis.testing import wait_for

attempts = {}


class Flaky:
    name = "flaky"

    @event_handler("src", "happened.v1")
    def on_happened(self, payload):
        n = payload["n"]
        attempts[n] = attempts.get(n, 0) + 1
        if attempts[n] <= payload["fail_times"]:
            raise RuntimeError("database briefly unavailable")

    @event_handler("src", "malformed.v1")
    def on_malformed(self, payload):
        attempts["malformed"] = attempts.get("malformed", 0) + 1
        raise errors.InvalidInput("bad_event", "the event lacks a field")


def config(amqp_uri):
    return {"AMQP_URI": amqp_uri, "EVENT_RETRY_DELAYS": [0.2, 0.4], "LOG_LEVEL": "WARNING"}


def test_topology_declares_queues_so_events_published_before_the_consumer_starts_wait(container_factory, amqp_uri):
    names = topology.declare(Flaky, config(amqp_uri))
    assert "evt-src-happened.v1--flaky.on_happened" in names
    assert "evt-src-happened.v1--flaky.on_happened.dlq" in names
    attempts.clear()
    event_dispatcher(config(amqp_uri))("src", "happened.v1", {"n": 1, "fail_times": 0})

    container_factory(Flaky, config(amqp_uri)).start()
    assert wait_for(lambda: attempts.get(1) == 1)


def test_a_failing_handler_is_retried_after_a_back_off_and_then_succeeds(container_factory, amqp_uri):
    topology.declare(Flaky, config(amqp_uri))
    attempts.clear()
    container_factory(Flaky, config(amqp_uri)).start()
    event_dispatcher(config(amqp_uri))("src", "happened.v1", {"n": 2, "fail_times": 2})
    assert wait_for(lambda: attempts.get(2) == 3)
    time.sleep(0.8)
    assert attempts[2] == 3
    assert dlq.count(amqp_uri, "evt-src-happened.v1--flaky.on_happened.dlq") == 0


def test_an_event_that_keeps_failing_ends_in_the_dead_letter_queue_and_can_be_replayed(container_factory, amqp_uri):
    topology.declare(Flaky, config(amqp_uri))
    attempts.clear()
    container = container_factory(Flaky, config(amqp_uri))
    container.start()
    event_dispatcher(config(amqp_uri))("src", "happened.v1", {"n": 3, "fail_times": 3})
    dead = "evt-src-happened.v1--flaky.on_happened.dlq"
    assert wait_for(lambda: dlq.count(amqp_uri, dead) == 1)
    assert attempts[3] == 3  # first try + 2 retries

    assert dlq.replay(amqp_uri, dead) == 1
    assert wait_for(lambda: attempts[3] == 4)  # the fourth try succeeds
    assert dlq.count(amqp_uri, dead) == 0


def test_an_event_refused_as_bad_input_goes_to_the_dead_letter_queue_at_once(container_factory, amqp_uri):
    topology.declare(Flaky, config(amqp_uri))
    attempts.clear()
    container_factory(Flaky, config(amqp_uri)).start()
    event_dispatcher(config(amqp_uri))("src", "malformed.v1", {"x": 1})
    assert wait_for(lambda: dlq.count(amqp_uri, "evt-src-malformed.v1--flaky.on_malformed.dlq") == 1)
    assert attempts["malformed"] == 1
