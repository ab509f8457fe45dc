"""Reports of the rewards service: per reward and per branch, coupon history, CSV export."""
import csv
import datetime
import io

from rewards import shops, store

COLUMNS = ("reward_id", "reward_name", "branch_id", "redeemed", "used", "expired", "points_spent")


def _bounds(shop_row, date_from, date_to):
    """Shop-local calendar days -> UTC instants [start, end)."""
    tz = shops.tz(shop_row)
    start = datetime.datetime.combine(date_from, datetime.time(), tz) if date_from else None
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time(), tz) if date_to else None
    return start, end


def rewards_report(conn, shop_row, date_from=None, date_to=None):
    """One row per (reward, branch): redemptions completed and points spent (at the branch of
    the staff who redeemed, none for a member's own), coupons used (at their branch), expired."""
    start, end = _bounds(shop_row, date_from, date_to)
    rows = store.report(conn, shop_row["shop_id"], start, end)
    return [{**row, "reward_id": str(row["reward_id"]),
             "branch_id": str(row["branch_id"]) if row["branch_id"] else None} for row in rows]


def to_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "branch_id": row["branch_id"] or ""})
    return out.getvalue()
