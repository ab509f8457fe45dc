"""Periodic work of the rewards service, each a function of `as_of` (runnable for any moment):

    python -m rewards.jobs --config services/rewards/config.yaml expire  --as-of 2027-01-01T00:00:00+07:00
    python -m rewards.jobs --config services/rewards/config.yaml warn
    python -m rewards.jobs --config services/rewards/config.yaml recover --as-of ...

`recover` needs the points service (it finishes or undoes interrupted redemptions), so it
runs as an RPC of a running rewards service: `recover` here calls it.
"""
import argparse
import datetime
import json
import sys

from nameko.standalone.rpc import ClusterRpcProxy

from chassis import config as config_module
from chassis import logs
from chassis.db import Store, make_pool
from chassis.outbox import WorkerOutbox
from rewards import coupons


def main(argv=None):
    parser = argparse.ArgumentParser(description="rewards jobs, run as of a given time")
    parser.add_argument("--config", required=True)
    parser.add_argument("job", choices=["expire", "warn", "recover"])
    parser.add_argument("--as-of", type=datetime.datetime.fromisoformat,
                        default=datetime.datetime.now(datetime.UTC))
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone (e.g. 2027-01-01T00:00:00+07:00)")
    config = config_module.load(args.config)
    logs.configure(config.get("LOG_LEVEL", "INFO"))
    if args.job == "recover":
        with ClusterRpcProxy(config, timeout=600) as cluster:
            result = cluster.rewards.run_recovery({"as_of": args.as_of.isoformat()})
    else:
        pool = make_pool(config_module.db_settings(config)["DSN"], min_size=1, max_size=2)
        db, outbox = Store(pool), WorkerOutbox({})
        try:
            job = coupons.expire if args.job == "expire" else coupons.warn
            result = job(db, outbox, args.as_of)
        finally:
            pool.close()
    logs.get_logger("rewards.jobs").info(f"{args.job}_done", **result)
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
