import time

from nameko.standalone.events import event_dispatcher

from chassis import dlq, topology
from chassis.events import batch_event_handler
from chassis.testing import wait_for

calls = []
fail = {"times": 0}


class Projector:
    name = "projector"

    @batch_event_handler("src", "counted.v1", max_wait=0.1)
    def on_counted(self, bodies):
        calls.append([body["n"] for body in bodies])
        if fail["times"] > 0:
            fail["times"] -= 1
            raise RuntimeError("database briefly unavailable")
        return {i: "n must not be negative" for i, body in enumerate(bodies) if body["n"] < 0}


def config(amqp_uri):
    return {"AMQP_URI": amqp_uri, "EVENT_RETRY_DELAYS": [0.2, 0.4], "LOG_LEVEL": "WARNING", "max_workers": 10}


def applied():
    return sorted(n for batch in calls for n in batch)


def test_events_arriving_together_are_handled_in_batches_no_larger_than_the_prefetch(container_factory, amqp_uri):
    topology.declare(Projector, config(amqp_uri))
    dispatch = event_dispatcher(config(amqp_uri))
    calls.clear()
    fail["times"] = 0
    for n in range(35):
        dispatch("src", "counted.v1", {"n": n})
    container_factory(Projector, config(amqp_uri)).start()
    assert wait_for(lambda: applied() == list(range(35)))
    assert len(calls) < 35 and max(len(batch) for batch in calls) <= 10


def test_a_rejected_event_is_dead_lettered_alone(container_factory, amqp_uri):
    topology.declare(Projector, config(amqp_uri))
    calls.clear()
    fail["times"] = 0
    container_factory(Projector, config(amqp_uri)).start()
    dispatch = event_dispatcher(config(amqp_uri))
    for n in (1, -1, 2):
        dispatch("src", "counted.v1", {"n": n})
    dead = "evt-src-counted.v1--projector.on_counted.dlq"
    assert wait_for(lambda: dlq.count(amqp_uri, dead) == 1)
    time.sleep(0.5)
    assert applied().count(1) == 1 and applied().count(2) == 1  # the good ones were not retried


def test_a_failed_batch_is_retried_whole_after_a_back_off(container_factory, amqp_uri):
    topology.declare(Projector, config(amqp_uri))
    calls.clear()
    fail["times"] = 1
    container_factory(Projector, config(amqp_uri)).start()
    dispatch = event_dispatcher(config(amqp_uri))
    for n in (10, 11, 12):
        dispatch("src", "counted.v1", {"n": n})
    assert wait_for(lambda: applied().count(10) == 2 and applied().count(11) == 2 and applied().count(12) == 2)
    assert dlq.count(amqp_uri, "evt-src-counted.v1--projector.on_counted.dlq") == 0
