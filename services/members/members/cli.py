"""Command line for what no API caller may do: issue a platform operator key.

    python -m members.cli --config services/members/config.yaml create-operator-key --label ops
Prints the key (shown once) on stdout.
"""
import argparse
import sys

from chassis import config as config_module
from chassis import logs
from chassis.db import Store, make_pool
from chassis.outbox import WorkerOutbox
from members import handlers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-operator-key")
    create.add_argument("--label", default="operator")
    args = parser.parse_args(argv)
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=1)
    try:
        with Store(pool).transaction() as conn:
            api_key, _ = handlers.create_operator_key(conn, args.label, WorkerOutbox({}))
    finally:
        pool.close()
    sys.stdout.write(api_key + "\n")


if __name__ == "__main__":
    main()
