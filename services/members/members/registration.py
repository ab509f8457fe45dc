"""Use cases of registration, profiles, consent texts, questions and tags; each runs in the caller's transaction."""
import datetime
import uuid

from chassis import idempotency
from chassis.fields import normalise_phone
from members import domain, errors, profile_store, store
from members import registration_contracts as contracts


def _now():
    return datetime.datetime.now(datetime.UTC)


def _fingerprint(cmd):
    return cmd.get("fingerprint") or idempotency.fingerprint(
        {k: str(v) for k, v in cmd.items()}, ignore=("idempotency_key", "fingerprint"))


def register(conn, cmd, outbox):
    """Register a member with consent to the shop's current terms: a new member, or the
    phone-only / imported member of that phone claimed with its points. Idempotent on the
    key; a registered phone is 409 already_registered. Events: members.registered
    (+ members.tagged when answers or staff gave tags)."""
    shop_id = cmd["shop_id"]

    def produce():
        consent = profile_store.shop_consent(conn, shop_id)
        if consent["version"] is None:
            raise errors.consent_text_missing()
        if cmd["consent_version"] != consent["version"]:
            raise errors.consent_outdated(consent["version"])
        questions = {q["question_id"]: q for q in profile_store.live_questions(conn, shop_id)}
        rows, answer_tags, problems = domain.check_answers(questions, cmd["answers"])
        if problems:
            raise errors.bad_answers(problems)
        at = _now()
        member = profile_store.register(
            conn, member_id=uuid.uuid4(), shop_id=shop_id, phone=cmd["phone"], at=at,
            consent_version=cmd["consent_version"], via=_via(cmd["actor"]),
            **{field: cmd.get(field) for field in domain.PROFILE_FIELDS})
        if member is None:
            raise errors.already_registered(cmd["phone"])
        member_id = member["member_id"]
        profile_store.save_answers(conn, member_id, shop_id, rows, at)
        tags = profile_store.add_tags(conn, shop_id, member_id, set(cmd["tags"]) | answer_tags, cmd["actor"])
        fields = {f: cmd[f] for f in domain.PROFILE_FIELDS if cmd.get(f) is not None}
        profile_store.record_change(conn, shop_id, member_id, cmd["actor"], "registered", {
            "claimed": not member["created"], "consent_version": cmd["consent_version"],
            **domain.profile_diff({}, fields), "tags": tags})
        outbox.add(conn, "members.registered", 1, shop_id, contracts.Registered().dump(
            {**member, "claimed": not member["created"], "tags": tags}))
        if tags:
            outbox.add(conn, "members.tagged", 1, shop_id, contracts.Tagged().dump(
                {"member_id": member_id, "phone": member["phone"], "added": tags, "removed": [], "tags": tags,
                 "actor": cmd["actor"]}))
        return contracts.PROFILE.dump(profile_store.get_profile(conn, shop_id, member_id))

    return idempotency.run_once(conn, f"register:{shop_id}", cmd["idempotency_key"], _fingerprint(cmd), produce)


def _via(actor):
    return {"member": "member", "staff": "staff", "admin": "admin"}.get(actor["type"], "admin")


def update_profile(conn, cmd, outbox):
    """Change profile fields; each change is kept (old and new values) with its actor.
    Setting the same values again changes nothing and publishes nothing.
    Event: members.updated (the names of the fields changed)."""
    shop_id, member_id = cmd["shop_id"], cmd["member_id"]
    member = profile_store.lock_member(conn, shop_id, member_id)
    if member["status"] == "erased":
        raise errors.member_erased()
    values = {field: cmd[field] for field in domain.PROFILE_FIELDS if field in cmd}
    diff = domain.profile_diff(member, values)
    if diff:
        profile_store.update_profile(conn, shop_id, member_id, {field: values[field] for field in diff})
        profile_store.record_change(conn, shop_id, member_id, cmd["actor"], "updated", diff)
        after = {**member, **values}
        outbox.add(conn, "members.updated", 1, shop_id, contracts.Updated().dump(
            {"member_id": member_id, "phone": member["phone"], "changed": sorted(diff), "name": after["name"],
             "line_user_id": after["line_user_id"], "actor": cmd["actor"]}))
    return {**contracts.PROFILE.dump(profile_store.get_profile(conn, shop_id, member_id)), "changed": sorted(diff)}


def change_tags(conn, cmd, outbox, add):
    """Add or remove tags (a set: adding a held tag or removing an absent one changes nothing).
    Event: members.tagged with what was added or removed, and the member's tags after."""
    shop_id, member_id = cmd["shop_id"], cmd["member_id"]
    member = profile_store.lock_member(conn, shop_id, member_id)
    if member["status"] == "erased":
        raise errors.member_erased()
    if add:
        changed = profile_store.add_tags(conn, shop_id, member_id, set(cmd["tags"]), cmd["actor"])
    else:
        changed = profile_store.remove_tags(conn, member_id, set(cmd["tags"]))
    tags = profile_store.tags_of(conn, member_id)
    if changed:
        profile_store.record_change(conn, shop_id, member_id, cmd["actor"], "tagged" if add else "untagged",
                                    {"tags": changed})
        outbox.add(conn, "members.tagged", 1, shop_id, contracts.Tagged().dump(
            {"member_id": member_id, "phone": member["phone"], "added": changed if add else [],
             "removed": [] if add else changed, "tags": tags, "actor": cmd["actor"]}))
    return {"member_id": str(member_id), "tags": tags, "changed": changed}


def publish_consent(conn, cmd, outbox):
    """Publish a version of the shop's terms and privacy text and make it current
    (publishing the same version with the same texts again changes nothing).
    Event: members.consent_text_published."""
    store.get_shop(conn, cmd["shop_id"])
    text, created = profile_store.publish_consent(conn, cmd["shop_id"], cmd["version"], cmd["terms"],
                                                  cmd["privacy"])
    if created:
        outbox.add(conn, "members.consent_text_published", 1, cmd["shop_id"],
                   {"version": cmd["version"], "created_at": text["created_at"].isoformat()})
    return contracts.ConsentText().dump(text)


def save_question(conn, cmd, outbox):
    """Create (no question_id) or change a registration question. Event: members.question_saved."""
    store.get_shop(conn, cmd["shop_id"])
    question = profile_store.save_question(conn, {**cmd, "question_id": cmd["question_id"] or uuid.uuid4()})
    data = contracts.Question().dump(question)
    outbox.add(conn, "members.question_saved", 1, cmd["shop_id"], data)
    return data


def archive_question(conn, cmd, outbox):
    """Stop asking a question (answers already given are kept until their retention ends).
    Event: members.question_archived."""
    profile_store.archive_question(conn, cmd["shop_id"], cmd["question_id"])
    outbox.add(conn, "members.question_archived", 1, cmd["shop_id"], {"question_id": str(cmd["question_id"])})
    return {"question_id": str(cmd["question_id"]), "archived": True}


def search(conn, cmd):
    """Members by phone (whole number in any form, or its last digits), name prefix, tag,
    tier and status; a page in member_id order with `next_after` for the next one."""
    phone = cmd["phone"]
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError:
            digits = "".join(ch for ch in phone if ch.isdigit()).lstrip("0")
            if len(digits) < 3:
                raise errors.InvalidInput("invalid_input", "phone: give a number or at least 3 of its last digits",
                                          {"phone": ["at least 3 digits"]}) from None
            phone = digits
    rows = profile_store.search(conn, cmd["shop_id"], phone=phone, name=cmd["name"], tag=cmd["tag"],
                                tier=cmd["tier"], status=cmd["status"], after=cmd["after"], limit=cmd["limit"])
    members = [contracts.Profile(exclude=("answers",)).dump(row) for row in rows]
    return {"members": members,
            "next_after": members[-1]["member_id"] if len(members) == cmd["limit"] else None}
