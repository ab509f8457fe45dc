"""Use cases of member sign-in: each runs inside the caller's transaction.

A refused code try must still count: such use cases return `(result, refusal)` and the
entrypoint raises the refusal after its transaction committed the spent try.
"""
import datetime
import uuid

from psycopg.types.json import Jsonb

from members import contracts, errors, signin, signin_store, store
from members import signin_contracts as sc

REFUSALS = {"wrong_code": errors.otp_wrong_code, "expired": errors.otp_expired, "dead": errors.otp_dead,
            "used": errors.otp_used}


def _refusal(attempt):
    if attempt.outcome == "wrong_code":
        return errors.otp_wrong_code(attempt.tries_left)
    return REFUSALS[attempt.outcome]()


def request_otp(conn, cmd, limits, pepper, now):
    """A new challenge for (shop, phone) unless a rate limit is reached: (challenge, code, shop).
    The same for a member and a stranger: membership is not revealed."""
    shop_id, phone, ip = cmd["shop_id"], cmd["phone"], cmd["client_ip"]
    shop = store.get_shop(conn, shop_id)
    if shop["status"] != "active":  # a cancelled shop signs no one in
        raise errors.shop_not_found(shop_id)
    since = now - datetime.timedelta(minutes=limits["window_minutes"])
    signin_store.lock(conn, f"otp:phone:{shop_id}:{phone}")
    if ip is not None:
        signin_store.lock(conn, f"otp:ip:{ip}")
    which = signin.over_limit(signin_store.sent_to_phone(conn, shop_id, phone, since),
                              None if ip is None else signin_store.sent_from_ip(conn, ip, since), limits)
    if which is not None:
        raise errors.otp_rate_limited(which, limits["per_phone" if which == "phone" else "per_ip"],
                                      limits["window_minutes"])
    challenge_id, code = uuid.uuid4(), signin.new_code()
    challenge = signin_store.insert_challenge(
        conn, challenge_id=challenge_id, shop_id=shop_id, phone=phone, ip=ip, now=now,
        code_hash=signin.hash_code(code, challenge_id, pepper), expires_at=signin.code_expiry(now))
    return challenge, code, shop


def spend_try(conn, shop_id, proof, pepper, now):
    """Judge a code against its challenge, recording the spent try: (challenge, refusal or None)."""
    challenge = signin_store.challenge_for_update(conn, shop_id, proof["challenge_id"])
    attempt = signin.try_code(challenge, proof["code"], now, pepper)
    if (attempt.status, attempt.attempts) != (challenge["status"], challenge["attempts"]):
        signin_store.settle_challenge(conn, challenge["challenge_id"], attempt.status, attempt.attempts, now)
    return challenge, (None if attempt.outcome == "ok" else _refusal(attempt))


def member_for_phone(conn, outbox, shop_id, phone):
    """The shop's member with this phone; a phone-only member (members.member_created) if none."""
    member, created = signin_store.member_for_phone(conn, shop_id, phone, uuid.uuid4())
    if created is not None:
        outbox.add(conn, "members.member_created", 1, shop_id, contracts.MEMBER_CREATED.dump(created))
    if member["status"] == "erased":
        raise errors.member_erased()
    return member


def issue_token(conn, outbox, member, method, now, days):
    """A new member token (shown once). Event: members.signed_in."""
    token, token_hash = signin.new_token()
    row = signin_store.insert_token(conn, token_id=uuid.uuid4(), token_hash=token_hash, shop_id=member["shop_id"],
                                    member_id=member["member_id"], method=method, now=now,
                                    expires_at=signin.token_expiry(now, days))
    outbox.add(conn, "members.signed_in", 1, member["shop_id"], sc.SignedInEvent().dump(
        {"member_id": member["member_id"], "phone": member["phone"], "token_id": row["token_id"],
         "method": method, "expires_at": row["expires_at"]}))
    return sc.SIGNED_IN.dump({"token": token, "token_id": row["token_id"], "expires_at": row["expires_at"],
                              "method": method, "member": member})


def verify_otp(conn, cmd, outbox, pepper, now, days):
    """A right code signs in the member of its phone (made phone-only if new): (signed_in, refusal)."""
    challenge, refusal = spend_try(conn, cmd["shop_id"], cmd, pepper, now)
    if refusal is not None:
        return None, refusal
    member = member_for_phone(conn, outbox, cmd["shop_id"], challenge["phone"])
    return issue_token(conn, outbox, member, "otp", now, days), None


def link(conn, outbox, member, line_user_id, now):
    """Link a LINE user id to the member (once; a LINE account is one member's per shop).
    Events: members.line_linked. Returns the member as it is now."""
    if signin_store.link_line(conn, member["member_id"], line_user_id) == "linked":
        actor = {"type": "member", "id": str(member["member_id"])}
        signin_store.record_change(conn, member_id=member["member_id"], shop_id=member["shop_id"], now=now,
                                   actor=Jsonb(actor), changes=Jsonb({"line_user_id": [None, line_user_id]}))
        outbox.add(conn, "members.line_linked", 1, member["shop_id"], sc.LineLinked().dump(
            {"member_id": member["member_id"], "phone": member["phone"], "line_user_id": line_user_id,
             "linked_at": now}))
    return signin_store.member(conn, member["shop_id"], member["member_id"])


def line_sign_in(conn, cmd, claims, outbox, pepper, now, days):
    """A verified LINE ID token: its linked member signs in; an unlinked one links to the phone
    a fresh code proves (cmd['otp']), else line_account_not_linked. (signed_in, refusal)."""
    shop_id, line_user_id = cmd["shop_id"], claims["sub"]
    member = signin_store.member_by_line(conn, shop_id, line_user_id)
    if member is None:
        if cmd["otp"] is None:
            raise errors.line_account_not_linked()
        challenge, refusal = spend_try(conn, shop_id, cmd["otp"], pepper, now)
        if refusal is not None:
            return None, refusal
        member = link(conn, outbox, member_for_phone(conn, outbox, shop_id, challenge["phone"]), line_user_id, now)
    elif member["status"] == "erased":
        raise errors.member_erased()
    return issue_token(conn, outbox, member, "line", now, days), None


def sign_out(conn, cmd, outbox, now, reason):
    """Revoke one token or all the member's tokens (idempotent). Event: members.signed_out."""
    token_id = None if cmd["all"] else cmd["token_id"]
    revoked = signin_store.revoke(conn, cmd["shop_id"], cmd["member_id"], token_id, now)
    if revoked:
        outbox.add(conn, "members.signed_out", 1, cmd["shop_id"], sc.SignedOut().dump(
            {"member_id": cmd["member_id"], "token_ids": revoked, "reason": reason}))
    return {"revoked": len(revoked)}
