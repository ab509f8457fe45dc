"""Retention of the chassis tables, as a function of "now" so tests can run it as of any time."""
import datetime

from chassis import idempotency, inbox

DEFAULT_IDEMPOTENCY_HOURS = 24 * 7
DEFAULT_INBOX_DAYS = 30


def run(conn, as_of, idempotency_hours=DEFAULT_IDEMPOTENCY_HOURS, inbox_days=DEFAULT_INBOX_DAYS):
    """Forget idempotency keys and processed event ids older than their retention."""
    return {
        "idempotency_keys": idempotency.purge(conn, as_of - datetime.timedelta(hours=idempotency_hours)),
        "inbox": inbox.purge(conn, as_of - datetime.timedelta(days=inbox_days)),
    }
