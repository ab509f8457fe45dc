"""The points service's copy of shops and branches, owned by the members service.

Kept current by members' events; when a request names a shop or branch the
copy has not seen yet (the event is still on its way), it is fetched once by
RPC and the request runs again. An unknown shop or branch is the members
service's NotFound, passed on as it is.
"""
from points import store


def run(db, members, use_case, transaction=True):
    """use_case(conn) in a transaction, filling the replica once if it lacks a shop or branch.
    transaction=False: on an autocommit connection, for a use case whose every statement is
    atomic on its own and safe to have run alone (a counter sale)."""
    scope = db.transaction if transaction else db.connection
    try:
        with scope() as conn:
            return use_case(conn)
    except store.Missing as missing:
        fill(db, members, missing.shop_id, missing.branch_id)
    with scope() as conn:
        return use_case(conn)


def fill(db, members, shop_id, branch_id=None):
    shop = members.call("get_shop", {"shop_id": str(shop_id)})
    branch = None
    if branch_id is not None:
        branch = members.call("get_branch", {"shop_id": str(shop_id), "branch_id": str(branch_id)})
    with db.transaction() as conn:
        store.sales.upsert_shop(conn, shop["shop_id"], shop["timezone"])
        if branch is not None:
            store.sales.upsert_branch(conn, branch["branch_id"], branch["shop_id"])
