"""Entrypoints of the notifier service.

Today it runs the platform's plumbing for real (its own database and
migrations, outbox relay, ping, /healthz, /metrics); its business arrives with
its own issue. Nothing here pretends otherwise.
"""
from chassis.service import ServiceBase


class NotifierService(ServiceBase):
    name = "notifier"
