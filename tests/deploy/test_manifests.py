"""deploy/k8s agrees with the code: every service has its database, migration Job,
pods, relay and probes, with the environment its config.yaml reads.
(There is no cluster here to apply them to; this keeps them from drifting.)"""
import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import stack as launcher  # noqa: E402

K8S = ROOT / "deploy" / "k8s"


def documents(name):
    return [d for d in yaml.safe_load_all((K8S / f"{name}.yaml").read_text()) if d]


def by_kind(docs, kind, name=None):
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


@pytest.mark.parametrize("component", [c for c in launcher.COMPONENTS if c.has_database], ids=lambda c: c.name)
def test_each_service_has_database_migrations_pods_and_relay(component):
    docs = documents(component.name)
    assert by_kind(docs, "Cluster", f"{component.name}-db"), "its own PostgreSQL cluster"
    job = by_kind(docs, "Job", f"{component.name}-migrate")[0]
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    assert "chassis.migrate" in command
    assert f"chassis.topology --config config.yaml {component.service_class}" in command
    service = by_kind(docs, "Deployment", component.name)[0]["spec"]["template"]["spec"]["containers"][0]
    assert service["command"][-1] == component.service_class
    assert service["readinessProbe"]["httpGet"]["path"] == "/healthz"
    relay = by_kind(docs, "Deployment", f"{component.name}-relay")[0]["spec"]["template"]["spec"]["containers"][0]
    assert relay["command"] == ["python", "-m", "chassis.relay", "--config", "config.yaml"]
    config_vars = set(re.findall(r"\$\{(\w+)", component.config.read_text()))
    for container in (service, relay):
        names = {e["name"] for e in container["env"]}
        assert {f"{component.name.upper()}_DB_DSN", "AMQP_URI"} <= names <= config_vars


def test_the_rabbitmq_vhost_makes_quorum_queues():
    vhost = by_kind(documents("platform"), "Vhost")[0]
    assert vhost["spec"] == {"name": "loyalty", "defaultQueueType": "quorum",
                             "rabbitmqClusterReference": {"name": "rabbitmq"}}


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_gateway_listens_on_all_interfaces_in_the_pod():
    container = by_kind(documents("gateway"), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "GATEWAY_HTTP", "value": "0.0.0.0:8000"} in container["env"]
