"""Stamp card designs and their lifecycle: draft -> active -> suspended, or a draft deleted.
Each runs in the caller's transaction and writes its events to the outbox there."""
import datetime
import uuid
import zoneinfo

from chassis import errors as chassis_errors
from points import errors, handlers, stamp_contracts, store
from points import stamp_domain as domain

CARD = stamp_contracts.CARD


def check_rewards(rewards, shop_id, tickets):
    """Every ticket names an active reward of the shop's catalogue that can be issued
    (rewards.get_reward, with the RPC deadline); else ticket_reward_invalid naming the ticket."""
    for index, ticket in enumerate(tickets):
        field = f"tickets.{index}.reward_id"
        try:
            reward = rewards.call("get_reward", {"shop_id": str(shop_id), "reward_id": str(ticket["reward_id"])})
        except chassis_errors.NotFound:
            raise chassis_errors.InvalidInput("ticket_reward_invalid", "a ticket names an unknown reward",
                                              {field: ["no such reward in this shop"]}) from None
        if reward.get("status") != "active" or reward.get("kind") == "delivery":
            raise chassis_errors.InvalidInput(
                "ticket_reward_invalid", "a ticket's reward must be an active in-store or code reward",
                {field: [f"reward is {reward.get('status')} ({reward.get('kind')})"]})


def _with_until(design, tz):
    validity = dict(design["validity"])
    validity["until_at"] = domain.card_validity_end(validity, tz)
    return {**design, "validity": validity}


def _check_design(design):
    problems = domain.design_problems(design)
    if problems:
        raise chassis_errors.InvalidInput("invalid_card_design", "this card design cannot work", problems)


def _current_design(card, tz):
    until = card["valid_until"]
    return {"name": card["name"], "stamps_to_fill": card["stamps_to_fill"],
            "rule": {"mode": card["rule_mode"], "stamps": card["stamps_per_visit"], "per_baht": card["unit_satang"]},
            "tickets": [{"at": t["at"], "reward_id": uuid.UUID(t["reward_id"])} for t in card["tickets"]],
            "welcome_stamps": card["welcome_stamps"], "max_per_purchase": card["max_per_purchase"],
            "terms": card["terms"],
            "validity": {"mode": card["validity_mode"], "days": card["valid_days"],
                         "until": (until.astimezone(tz) - datetime.timedelta(days=1)).date() if until else None}}


def _card_event(outbox, conn, event_type, card, **extra):
    data = CARD.dump(card)
    outbox.add(conn, event_type, 1, card["shop_id"], {**data, **extra})
    return data


def create_card(conn, cmd, outbox, now):
    """A draft card. Idempotent on the key. Refused during the waiting time after a suspension.
    Event: stampcards.created."""
    shop_id = cmd["shop_id"]
    tz = zoneinfo.ZoneInfo(store.stamp_cards.lock_shop(conn, shop_id))
    fingerprint = handlers.fingerprint_of(cmd)
    prior = store.stamp_cards.card_by_key(conn, shop_id, cmd["idempotency_key"])
    if prior is not None:
        if prior["fingerprint"] != fingerprint:
            raise errors.idempotency_key_reused()
        return CARD.dump(prior), True
    domain.check_waiting_time(store.stamp_cards.lifecycle_state(conn, shop_id)["last_suspended_at"], now)
    design = {k: cmd[k] for k in domain.DESIGN_FIELDS}
    _check_design(design)
    card = store.stamp_cards.insert_card(conn, card_id=uuid.uuid4(), shop_id=shop_id,
                                         design=_with_until(design, tz), key=cmd["idempotency_key"],
                                         fingerprint=fingerprint, now=now)
    return _card_event(outbox, conn, "stampcards.created", card, actor=cmd["actor"]), False


def update_card(conn, cmd, outbox, now):
    """Change a draft's design, or an active card's validity only (card_field_locked otherwise);
    a suspended or deleted card never changes. Members' open cards follow a new validity.
    Event: stampcards.updated (with the changed fields)."""
    tz = zoneinfo.ZoneInfo(store.stamp_cards.lock_shop(conn, cmd["shop_id"]))
    card = store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"], lock="no_key")
    current = _current_design(card, tz)
    wanted = {k: cmd[k] for k in domain.DESIGN_FIELDS if k in cmd}
    changed = domain.changed_fields(current, wanted)
    domain.check_edit(card["status"], changed)
    if not changed:
        return CARD.dump(card), False
    design = _with_until({**current, **wanted}, tz)
    _check_design(design)
    updated = store.stamp_cards.update_card(conn, card["card_id"], design, now)
    if card["status"] == "active" and "validity" in changed:
        store.stamp_cards.update_member_expiries(conn, card["card_id"], updated["validity_mode"],
                                                 updated["valid_until"], updated["valid_days"], str(tz))
    return _card_event(outbox, conn, "stampcards.updated", updated, changed=changed, actor=cmd["actor"]), True


def activate_card(conn, cmd, outbox, now):
    """draft -> active: one active card per shop (active_card_exists), never a suspended one
    (card_suspended), not during the waiting time (card_waiting_time). Event: stampcards.activated."""
    store.stamp_cards.lock_shop(conn, cmd["shop_id"])
    card = store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    state = store.stamp_cards.lifecycle_state(conn, cmd["shop_id"])
    if not domain.check_activation(card["status"], state["active_id"], state["last_suspended_at"], now):
        return CARD.dump(card), False
    if card["validity_mode"] == "date" and now >= card["valid_until"]:
        raise domain.card_expired()
    active = store.stamp_cards.set_status(conn, card["card_id"], "active", now)
    return _card_event(outbox, conn, "stampcards.activated", active, actor=cmd["actor"]), True


def suspend_card(conn, cmd, outbox, now):
    """active -> suspended, with confirm: true (suspension_not_confirmed). Cannot be undone.
    Waits for grants in flight (the card's row lock); members' stamps are reset after
    (`finish_resets`). Event: stampcards.suspended."""
    card = store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    if not domain.check_suspension(card["status"], cmd["confirm"]):
        return CARD.dump(card), False
    suspended = store.stamp_cards.set_status(conn, card["card_id"], "suspended", now)
    new_card_from = domain.waiting_until(now).isoformat()
    data = _card_event(outbox, conn, "stampcards.suspended", suspended, actor=cmd["actor"],
                       new_card_from=new_card_from)
    return {**data, "new_card_from": new_card_from}, True


def delete_card(conn, cmd, outbox, now):
    """A draft is deleted (card_not_deletable otherwise). Event: stampcards.deleted."""
    card = store.stamp_cards.card(conn, cmd["shop_id"], cmd["card_id"], lock="update")
    if not domain.check_delete(card["status"]):
        return CARD.dump(card), False
    deleted = store.stamp_cards.set_status(conn, card["card_id"], "deleted", now)
    return _card_event(outbox, conn, "stampcards.deleted", deleted, actor=cmd["actor"]), True
