"""The reward catalogue: create, edit (issued coupons keep their terms), hide, archive, list,
and what a member can redeem now (and why not)."""
import uuid

from rewards import domain, errors, event_contracts, store

EDITABLE = ("name", "description", "image_url", "points_cost", "valid_from", "valid_to", "coupon_days",
            "per_member_limit", "tiers", "branch_ids", "visible")


def _event(outbox, conn, event_type, row):
    outbox.add(conn, event_type, 1, row["shop_id"], event_contracts.REWARD.dump(row))


def create(conn, cmd, outbox):
    row = store.insert_reward(
        conn, reward_id=uuid.uuid4(), shop_id=cmd["shop_id"], kind=cmd["kind"], code_source=cmd["code_source"],
        name=cmd["name"], description=cmd.get("description", ""), image_url=cmd.get("image_url"),
        points_cost=cmd["points_cost"], stock=0 if cmd["code_source"] == "pool" else cmd.get("stock"),
        valid_from=cmd.get("valid_from"), valid_to=cmd.get("valid_to"), coupon_days=cmd.get("coupon_days"),
        per_member_limit=cmd.get("per_member_limit"), tiers=cmd.get("tiers", []),
        branch_ids=cmd.get("branch_ids", []), visible=cmd.get("visible", True))
    _event(outbox, conn, "rewards.reward_created", row)
    return row


def get(conn, shop_id, reward_id, lock=False):
    row = store.reward(conn, shop_id, reward_id, lock=lock)
    if row is None:
        raise errors.reward_not_found(reward_id)
    return row


def update(conn, cmd, outbox, status=None):
    """Change a reward's terms. Coupons already issued keep theirs (they hold a copy).
    A stock change sets the stock left to the new total minus what is taken."""
    current = get(conn, cmd["shop_id"], cmd["reward_id"], lock=True)
    changes = {k: cmd[k] for k in EDITABLE if k in cmd}
    start = changes.get("valid_from", current["valid_from"])
    end = changes.get("valid_to", current["valid_to"])
    if start and end and end <= start:
        raise errors.InvalidInput("invalid_input", "request is invalid", {"valid_to": ["must be after valid_from"]})
    if "stock" in cmd:
        if current["code_source"] == "pool":
            raise errors.not_for_kind("stock", "pool code")
        taken = (current["stock_total"] or 0) - (current["stock_left"] or 0)
        if cmd["stock"] is None:
            changes.update(stock_total=None, stock_left=None)
        elif cmd["stock"] < taken:
            raise errors.InvalidInput("stock_below_taken", f"{taken} are already taken",
                                      {"stock": [f"at least {taken} (already taken)"]})
        else:
            changes.update(stock_total=cmd["stock"], stock_left=cmd["stock"] - taken)
    if status is not None:
        changes["status"] = status
    if not changes:
        return current
    row = store.update_reward(conn, cmd["shop_id"], cmd["reward_id"], changes)
    _event(outbox, conn, "rewards.reward_updated", row)
    return row


def add_codes(conn, cmd, outbox):
    reward = get(conn, cmd["shop_id"], cmd["reward_id"], lock=True)
    if reward["code_source"] != "pool":
        raise errors.pool_only(cmd["reward_id"])
    unique = list(dict.fromkeys(code.strip() for code in cmd["codes"]))
    added = store.add_pool_codes(conn, reward["reward_id"], unique)
    store.add_stock(conn, reward["reward_id"], added)
    row = store.reward(conn, cmd["shop_id"], cmd["reward_id"])
    _event(outbox, conn, "rewards.reward_updated", row)
    return {"added": added, "duplicates": len(cmd["codes"]) - added, "stock_left": row["stock_left"]}


def available(conn, shop_id, phone, now, balance, tier):
    """Every visible, active reward with `redeemable` and, if not, the reasons."""
    taken = store.taken_by_reward(conn, shop_id, phone)
    result = []
    for reward in store.rewards(conn, shop_id):
        if not reward["visible"]:
            continue
        reasons = domain.why_not(reward, now, balance=balance, tier=tier, taken=taken.get(reward["reward_id"], 0))
        result.append({"reward": reward, "redeemable": not reasons, "reasons": reasons})
    return result
