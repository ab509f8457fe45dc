"""Periodic work of member sign-in, a function of `as_of`; one run at a time across replicas.

    python -m members.signin_jobs purge --as-of 2027-01-01T00:00:00+07:00 --config services/members/config.yaml

purge: forget code challenges older than a day (the rate limits look back an hour) and
member tokens expired or revoked more than 30 days ago. Running it twice changes nothing twice.
"""
import argparse
import datetime
import json
import sys

from chassis import config as config_module
from chassis import logs
from chassis.db import Store, make_pool
from members import signin_store

CHALLENGE_RETENTION = datetime.timedelta(days=1)
TOKEN_RETENTION = datetime.timedelta(days=30)
log = logs.get_logger("members.signin_jobs")


def purge(db, as_of):
    """Counts of challenges and tokens forgotten, or skipped when another run holds the lock."""
    with db.transaction() as conn:
        purged = signin_store.purge(conn, as_of - CHALLENGE_RETENTION, as_of - TOKEN_RETENTION)
    return purged if purged is not None else {"challenges": 0, "tokens": 0, "skipped": True}


def _as_of(text):
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2027-01-01T00:00:00+07:00")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=["purge"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--as-of", type=_as_of, default=None)
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=1)
    try:
        result = purge(Store(pool), args.as_of or datetime.datetime.now(datetime.UTC))
    finally:
        pool.close()
    log.info("sign_in_purged", **result)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
