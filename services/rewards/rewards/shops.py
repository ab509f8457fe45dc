"""The rewards service's copy of shops: time zone, and the secret key of the shop's coupon codes.

Filled by members.shop_created, or on first use by asking the members service
(an unknown shop is its NotFound, passed on). The code key is made here once
per shop and never leaves this database.
"""
import os
import zoneinfo

from rewards import store


def ensure(db, members, shop_id):
    with db.connection() as conn:
        row = store.shop(conn, shop_id)
    if row is not None:
        return row
    shop = members.call("get_shop", {"shop_id": str(shop_id)})
    with db.transaction() as conn:
        store.upsert_shop(conn, shop["shop_id"], shop["timezone"], os.urandom(32))
        return store.shop(conn, shop_id)


def upsert(conn, shop_id, timezone):
    store.upsert_shop(conn, shop_id, timezone, os.urandom(32))


def tz(shop_row):
    return zoneinfo.ZoneInfo(shop_row["timezone"])
