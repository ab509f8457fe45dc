"""A member's stamp cards, history and tickets; stamp statistics; and the rewards service's
coupon events for tickets, kept locally so that "tickets used" needs no call to rewards."""
import datetime
import uuid
import zoneinfo

from points import stamp_contracts, store
from points import stamp_domain as domain


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (uuid.UUID, datetime.date)):
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    return value


# --- reads ------------------------------------------------------------------------------------

def member_stamps(conn, cmd):
    """A member's cards (stamps held, card number, expiry), stamp history (newest first, in
    pages) and reward tickets."""
    shop_id, phone = cmd["shop_id"], cmd["phone"]
    cards = [{"card_id": str(c["card_id"]), "name": c["name"], "status": c["status"],
              "stamps_to_fill": c["stamps_to_fill"], "stamps": c["stamps"], "card_no": c["card_no"],
              "started_at": c["started_at"], "expires_at": c["expires_at"], "cards_completed": c["cards_completed"],
              "next_ticket_at": next((t["at"] for t in sorted(c["tickets"], key=lambda t: t["at"])
                                      if t["at"] > c["stamps"]), None)}
             for c in store.stamp_reads.member_cards(conn, shop_id, phone)]
    entries = store.stamp_reads.member_entries(conn, shop_id, phone, cmd["limit"], cmd["before"])
    return {"phone": phone, "cards": _jsonable(cards),
            "entries": stamp_contracts.ENTRY.dump(entries, many=True),
            "tickets": stamp_contracts.TICKET.dump(store.stamp_reads.member_tickets(conn, shop_id, phone), many=True),
            "next_before": entries[-1]["entry_id"] if len(entries) == cmd["limit"] else None}


def stats(conn, cmd, now):
    """Per shop day and branch: cards issued, stamps given and voided, tickets issued and used.
    Up to the previous shop day, or with `live` up to now."""
    tz_name = store.stamp_cards.shop_tz(conn, cmd["shop_id"])
    tz = zoneinfo.ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    start, end, last = domain.stats_window(cmd["since"], cmd["until"], today, cmd["live"], tz)
    rows = store.stamp_reads.stats(conn, cmd["shop_id"], tz_name, start, min(end, now) if cmd["live"] else end,
                                   cmd["branch_id"]) if last >= cmd["since"] else []
    keys = ("cards_issued", "stamps_given", "stamps_voided", "tickets_issued", "tickets_used")
    return {"shop_id": str(cmd["shop_id"]), "timezone": tz_name, "since": cmd["since"].isoformat(),
            "until": last.isoformat(), "live": cmd["live"], "as_of": now.isoformat(),
            "rows": [{"day": r["day"].isoformat(), "branch_id": str(r["branch_id"]) if r["branch_id"] else None,
                      **{k: int(r[k]) for k in keys}} for r in rows],
            "totals": {k: sum(int(r[k]) for r in rows) for k in keys}}


# --- the rewards service's coupons for tickets ------------------------------------------------

def ticket_coupons_issued(conn, event):
    if event["data"]["source"] != "stamp_card" or not event["data"]["source_ref"]:
        return
    for coupon in event["data"]["coupons"]:
        store.stamp_reads.set_ticket_coupon(conn, event["shop_id"], event["data"]["source_ref"],
                                            coupon.get("coupon_id"), coupon.get("code"))


def ticket_used(conn, event, used):
    data = event["data"]
    if data["source"] != "stamp_card" or not data["source_ref"]:
        return
    store.stamp_reads.set_ticket_used(conn, event["shop_id"], data["source_ref"],
                                      data["used_at"] if used else None, data["used_branch_id"] if used else None)
