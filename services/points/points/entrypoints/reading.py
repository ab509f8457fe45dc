"""Balances, history, lots, expiring points and statistics."""
from nameko.rpc import rpc

from chassis.errors import load
from points import contracts, errors, ledger, store


class Reading:
    @rpc(expected_exceptions=errors.EXPECTED)
    def balance(self, request):
        """The points balance of a phone in a shop, or account_not_found."""
        cmd = load(contracts.ACCOUNT_REF, request)
        with self.db.connection() as conn:
            return contracts.BALANCE.dump(store.sales.balance(conn, cmd["shop_id"], cmd["phone"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def history(self, request):
        """A page of an account's entries, newest first, filtered by kinds, branch and time
        range; `next_before` is the cursor of the next page (None on the last)."""
        cmd = load(contracts.HISTORY, request)
        with self.db.connection() as conn:
            rows = store.reads.history(conn, cmd["shop_id"], cmd["phone"], cmd["kinds"], cmd["branch_id"],
                                       cmd["since"], cmd["until"], cmd["before"], cmd["limit"])
        page = rows[:cmd["limit"]]
        return {"entries": contracts.HISTORY_ENTRIES.dump(page),
                "next_before": page[-1]["entry_id"] if len(rows) > cmd["limit"] else None}

    @rpc(expected_exceptions=errors.EXPECTED)
    def lots(self, request):
        """An account's open lots, in the order they will be spent, with their expiry."""
        cmd = load(contracts.ACCOUNT_REF, request)
        with self.db.connection() as conn:
            account = store.sales.balance(conn, cmd["shop_id"], cmd["phone"])
            lots = store.reads.open_lots(conn, cmd["shop_id"], cmd["phone"])
        return {"balance": account["balance"], "lots": contracts.Lot(many=True).dump(lots)}

    @rpc(expected_exceptions=errors.EXPECTED)
    def expiring(self, request):
        """Points of an account that expire in the next `days` days (default 30), by shop day."""
        cmd = load(contracts.Expiring(), request)
        with self.db.connection() as conn:
            days = store.reads.expiring(conn, cmd["shop_id"], cmd["phone"], ledger.now(), cmd["days"])
        return {"total": sum(d["points"] for d in days), "days": contracts.ExpiringDay(many=True).dump(days)}

    @rpc(expected_exceptions=errors.EXPECTED)
    def stats(self, request):
        """Per shop day: points issued, redeemed, expired, voided, adjusted down, net, and (for the
        whole shop) outstanding at the day's end; for one branch when branch_id is given."""
        cmd = load(contracts.Stats(), request)
        with self.db.connection() as conn:
            days = store.reads.stats(conn, cmd["shop_id"], cmd["since"], cmd["until"], cmd["branch_id"])
            outstanding = None if cmd["branch_id"] else store.reads.outstanding_before(
                conn, cmd["shop_id"], cmd["since"])
        for day in days:
            if outstanding is not None:
                outstanding += day["net"]
            day["outstanding"] = outstanding
        return {"days": contracts.StatsDay(many=True).dump(days)}
