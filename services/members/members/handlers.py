"""Use cases of the members service: each runs inside the caller's transaction."""
import uuid

from chassis import idempotency
from members import contracts, domain, store


def _once(conn, scope, cmd, produce):
    return idempotency.run_once(
        conn, scope, cmd["idempotency_key"], cmd["fingerprint"] or idempotency.fingerprint(
            {k: str(v) for k, v in cmd.items()}, ignore=("idempotency_key", "fingerprint")), produce)


def _issue_key(conn, outbox, role, shop_id=None, branch_id=None, staff_id=None, label=""):
    api_key, prefix, key_hash = domain.new_api_key()
    row = store.insert_api_key(conn, key_id=uuid.uuid4(), key_hash=key_hash, prefix=prefix, role=role,
                               shop_id=shop_id, branch_id=branch_id, staff_id=staff_id, label=label)
    outbox.add(conn, "members.api_key_issued", 1, shop_id, contracts.ApiKey().dump(row))
    return api_key, row


def create_shop(conn, cmd, outbox):
    """A shop and its first admin key. Idempotent on the key (platform-wide scope)."""
    def produce():
        shop = store.insert_shop(conn, shop_id=uuid.uuid4(), name=cmd["name"], timezone=cmd["timezone"])
        outbox.add(conn, "members.shop_created", 1, shop["shop_id"], contracts.Shop().dump(shop))
        api_key, key = _issue_key(conn, outbox, "shop_admin", shop_id=shop["shop_id"], label="first admin")
        return contracts.CreateShopResult().dump(
            {"shop": shop, "admin_key_id": key["key_id"], "admin_api_key": api_key})

    return _once(conn, "create_shop", cmd, produce)


def create_branch(conn, cmd, outbox):
    def produce():
        store.get_shop(conn, cmd["shop_id"])
        branch = store.insert_branch(conn, branch_id=uuid.uuid4(), shop_id=cmd["shop_id"], name=cmd["name"])
        outbox.add(conn, "members.branch_created", 1, cmd["shop_id"], contracts.Branch().dump(branch))
        return contracts.Branch().dump(branch)

    return _once(conn, f"create_branch:{cmd['shop_id']}", cmd, produce)


def create_staff(conn, cmd, outbox):
    """A staff member of one branch (or of all, for a manager) with their own key."""
    def produce():
        store.get_shop(conn, cmd["shop_id"])
        if cmd["branch_id"] is not None:
            store.get_branch(conn, cmd["shop_id"], cmd["branch_id"])
        staff = store.insert_staff(conn, staff_id=uuid.uuid4(), shop_id=cmd["shop_id"],
                                   branch_id=cmd["branch_id"], name=cmd["name"])
        outbox.add(conn, "members.staff_added", 1, cmd["shop_id"], contracts.Staff().dump(staff))
        api_key, key = _issue_key(conn, outbox, "branch_staff", shop_id=cmd["shop_id"],
                                  branch_id=cmd["branch_id"], staff_id=staff["staff_id"], label=cmd["name"])
        return contracts.CreateStaffResult().dump({"staff": staff, "key_id": key["key_id"], "api_key": api_key})

    return _once(conn, f"create_staff:{cmd['shop_id']}", cmd, produce)


def create_api_key(conn, cmd, outbox):
    def produce():
        store.get_shop(conn, cmd["shop_id"])
        api_key, key = _issue_key(conn, outbox, cmd["role"], shop_id=cmd["shop_id"], label=cmd["label"])
        return contracts.CreateApiKeyResult().dump({"key": key, "api_key": api_key})

    return _once(conn, f"create_api_key:{cmd['shop_id']}", cmd, produce)


def create_operator_key(conn, label, outbox):
    """A platform operator key (command line only: there is no one above an operator)."""
    return _issue_key(conn, outbox, "platform_operator", label=label)


def record_points(conn, events, outbox, earned=True, credits=False):
    """Apply points events: a phone-only member for each new phone, and the running totals:
    points received (points.earned, and with `credits` the positive points.adjusted) and
    purchases (sales and orders) from points.earned, the latest balance
    from every event (the highest balance_seq wins). Sums each phone's events first, then
    writes every member in one statement. Returns the members written."""
    by_phone = {}
    for event in events:
        data = event["data"]
        total = by_phone.setdefault((event["shop_id"], data["phone"]), {
            "member_id": uuid.uuid4(), "shop_id": event["shop_id"], "phone": data["phone"], "points": 0,
            "balance": 0, "seq": -1, "sales": 0, "spend": 0, "sale_at": None})
        if data["balance_seq"] > total["seq"]:
            total["seq"], total["balance"] = data["balance_seq"], data["balance"]
        if not earned:
            if credits and data.get("points", 0) > 0:  # points.adjusted: an import, a campaign, an admin's credit
                total["points"] += data["points"]
            continue
        total["points"] += data["points"]
        purchase = data.get("sale") or data.get("order")
        if purchase:
            total["sales"] += 1
            total["spend"] += purchase["amount_satang"]
            total["sale_at"] = max(filter(None, (total["sale_at"], event["occurred_at"])))
    if not by_phone:
        return []
    members = store.record_earns(conn, list(by_phone.values()))
    for member in members:
        if member["created"]:
            outbox.add(conn, "members.member_created", 1, member["shop_id"], contracts.MEMBER_CREATED.dump(member))
    return members
