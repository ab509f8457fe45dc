"""Members acting for themselves: sign-in (a code by SMS, or LINE), then their own page.

Sign-in routes are open (no key); they answer a member token (`mt_...`), which the
member sends as `Authorization: Bearer mt_...` on the `/shops/{shop_id}/me` routes. A
member token reaches only its own shop (403 wrong_shop elsewhere) and only its own member
(the phone and member id come from the token, never from the request).
"""
import uuid

from nameko.extensions import DependencyProvider

from chassis import errors
from gateway import me_contracts as me
from gateway import points_contracts as pc
from gateway import rewards_contracts as rc
from gateway import stamps_contracts as sc
from gateway.auth import ADMIN, MEMBER, api_key_from
from gateway.endpoints import endpoint
from gateway.members_contracts import Profile

ME = "/shops/{shop_id}/me"


class TooManyRequests(errors.ServiceError):
    """429: members' otp_rate_limited and line_nonce_rate_limited, as HTTP says it."""

    status = 429
    default_code = "too_many_requests"


class Caller:
    def __init__(self, request, trusted_proxies):
        self.request = request
        self.trusted_proxies = trusted_proxies

    @property
    def address(self):
        """The client's address: the socket's peer, or behind `TRUSTED_PROXIES` = n proxies the
        n-th address from the right of X-Forwarded-For (what the nearest trusted proxy saw)."""
        if self.request is None:
            return None
        forwarded = [part.strip() for part in self.request.headers.get("X-Forwarded-For", "").split(",")
                     if part.strip()]
        if self.trusted_proxies and len(forwarded) >= self.trusted_proxies:
            return forwarded[-self.trusted_proxies][:64]
        return (self.request.remote_addr or "")[:64] or None

    @property
    def token(self):
        return api_key_from(self.request.headers)


class CallerProvider(DependencyProvider):
    """The HTTP request of this worker (nameko hands it to the entrypoint as its first argument)."""

    def setup(self):
        self.trusted_proxies = int(self.container.config.get("TRUSTED_PROXIES", 0) or 0)

    def get_dependency(self, worker_ctx):
        request = worker_ctx.args[0] if worker_ctx.args else None
        return Caller(request, self.trusted_proxies)


def _rate_limited(call):
    try:
        return call()
    except errors.Conflict as exc:
        if exc.code in ("otp_rate_limited", "line_nonce_rate_limited"):
            raise TooManyRequests(exc.code, exc.message, exc.fields) from None
        raise


def _ready(body):
    """Loaded values (UUIDs, dates) back to JSON for the RPC."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, uuid.UUID):
            return str(value)
        return value.isoformat() if hasattr(value, "isoformat") else value
    return plain(body)


class MeRoutes:
    caller = CallerProvider()

    def _otp_timeout(self):
        return float(self.config.get("OTP_TIMEOUT", 20))

    # --- sign-in -------------------------------------------------------------------

    @endpoint("POST", f"{ME}/otp", summary="Send a sign-in code by SMS", request=me.OtpBody, response=me.OtpSent,
              status=202, tag="me")
    def me_request_otp(self, call, shop_id):
        """6 digits, valid 5 minutes, 5 tries. The same answer whether or not the phone is a member.
        429 otp_rate_limited (per phone and per address, per hour); 409 sms_not_configured."""
        return _rate_limited(lambda: self.members.call("request_otp", {
            "shop_id": shop_id, "phone": call.body["phone"], "language": call.body["language"],
            "client_ip": self.caller.address}, timeout=self._otp_timeout()))

    @endpoint("POST", f"{ME}/otp/verify", summary="Sign in with the code: a member token",
              request=me.OtpProof, response=me.SignedIn, tag="me")
    def me_verify_otp(self, call, shop_id):
        """A phone that is not a member yet becomes one (phone-only; register later). 401
        otp_wrong_code (tries left), otp_expired, otp_dead; 409 otp_used; 404 otp_not_found."""
        return self.members.call("verify_otp", {"shop_id": shop_id, **_ready(call.body)})

    @endpoint("POST", f"{ME}/line", summary="Sign in with LINE (an ID token of the shop's LINE Login / LIFF)",
              request=me.LineSignInBody, response=me.SignedIn, tag="me")
    def me_line_sign_in(self, call, shop_id):
        """The LINE account's member signs in. 403 line_account_not_linked: sign in with a code
        first (or send `otp` with this request) to link it. 401 line_token_<reason>
        (bad_signature, wrong_audience, expired, wrong_nonce, replayed, ...)."""
        return self.members.call("line_sign_in", {"shop_id": shop_id, **_ready(call.body)})

    @endpoint("POST", f"{ME}/line/nonce", summary="A nonce for the LINE Login request (10 minutes, once)",
              response=me.LineNonce, status=201, tag="me")
    def me_line_nonce(self, call, shop_id):
        """An ID token that carries a nonce signs in only with one issued here, once. Every ID
        token signs in once (401 line_token_replayed): a token captured elsewhere cannot be reused."""
        return _rate_limited(lambda: self.members.call("line_nonce", {"shop_id": shop_id,
                                                                     "client_ip": self.caller.address}))

    @endpoint("POST", f"{ME}/line/link", summary="Link my LINE account", roles=(MEMBER,), request=me.LineBody,
              response=me.Me, tag="me")
    def me_link_line(self, call, shop_id):
        """409 line_user_taken (another member's), member_has_other_line_account."""
        return self.members.call("link_line", {"shop_id": shop_id, "member_id": call.principal.member_id,
                                               **_ready(call.body)})

    @endpoint("POST", f"{ME}/sign-out", summary="Sign out (this token, or all my tokens)", roles=(MEMBER,),
              request=me.SignOutBody, response=me.SignedOut, tag="me")
    def me_sign_out(self, call, shop_id):
        """This gateway forgets the token at once; other replicas within AUTH_CACHE_SECONDS."""
        principal = call.principal
        result = self.members.call("sign_out", {"shop_id": shop_id, "member_id": principal.member_id,
                                                "token_id": principal.token_id, "all": call.body["all"]})
        self.keys.forget(self.caller.token)
        return result

    # --- my page ---------------------------------------------------------------------

    @endpoint("GET", ME, summary="My profile, tier and points", roles=(MEMBER,), response=me.Me, tag="me")
    def me_profile(self, call, shop_id):
        member = self.members.call("my_profile", {"shop_id": shop_id, "member_id": call.principal.member_id})
        try:
            balance = self.points.call("balance", {"shop_id": shop_id, "phone": call.principal.phone})["balance"]
        except errors.NotFound:
            balance = 0
        return {**member, "points_balance": balance}

    @endpoint("POST", f"{ME}/registration", summary="Register myself (with my consent)", roles=(MEMBER,),
              request=me.RegistrationBody, response=Profile, status=201, idempotent=True, tag="me")
    def me_register(self, call, shop_id):
        """The token's phone is registered; its points stay. 409 already_registered; 422 when
        consent is missing or not the current version."""
        member = self.members.call("register", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "phone": call.principal.phone, "actor": call.principal.actor, **_ready(call.body)})
        return member, member["replayed"]

    @endpoint("GET", f"{ME}/points/history", summary="My points history, newest first", roles=(MEMBER,),
              query=pc.HistoryQuery, response=pc.HistoryPage, tag="me")
    def me_history(self, call, shop_id):
        q = call.query
        return self.points.call("history", {
            "shop_id": shop_id, "phone": call.principal.phone, "kinds": q["kind"], "limit": q["limit"],
            "before": q["before"], "branch_id": None if q["branch_id"] is None else str(q["branch_id"]),
            "since": q["since"] and q["since"].isoformat(), "until": q["until"] and q["until"].isoformat()})

    @endpoint("POST", f"{ME}/qr/claim", summary="Claim the points of a one-time QR code I scanned",
              roles=(MEMBER,), request=me.ClaimQrBody, response=me.QrClaimed, status=201, tag="me")
    def me_claim_qr(self, call, shop_id):
        """Once per code (scanning it again answers the same). 409 qr_already_used, qr_expired; 422 qr_invalid."""
        return self.points.call("claim_qr", {"shop_id": shop_id, "token": call.body["token"],
                                             "phone": call.principal.phone})

    @endpoint("POST", f"{ME}/printed-qr/claim", summary="Claim the points of a branch's printed QR code",
              roles=(MEMBER,), request=me.ClaimQrBody, response=me.QrClaimed, status=201, idempotent=True, tag="me")
    def me_claim_printed_qr(self, call, shop_id):
        """Fixed points, at most the branch's daily limit per member. 409 daily_limit_reached."""
        result = self.points.call("claim_printed_qr", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "token": call.body["token"], "phone": call.principal.phone})
        return result, result["replayed"]

    @endpoint("POST", f"{ME}/stamps/scans", summary="Collect the stamps of a stamp QR code I scanned",
              roles=(MEMBER,), request=me.ClaimQrBody, response=sc.StampGrant, status=201, idempotent=True,
              tag="me")
    def me_scan_stamps(self, call, shop_id):
        """One-time codes give their stamps once; printed codes at most the branch's daily limit per member.
        The card is issued on the first stamp."""
        result = self.points.call("claim_stamps", {"shop_id": shop_id, "phone": call.principal.phone,
                                                   "token": call.body["token"], "idempotency_key": call.key})
        return result, result["replayed"]

    @endpoint("GET", f"{ME}/stamps", summary="My stamp card, stamp history and reward tickets", roles=(MEMBER,),
              query=sc.StampHistoryQuery, response=sc.MemberStampsView, tag="me")
    def me_stamps(self, call, shop_id):
        return self.points.call("member_stamps", {"shop_id": shop_id, "phone": call.principal.phone, **call.query})

    @endpoint("GET", f"{ME}/rewards", summary="Rewards I can redeem now, and why not", roles=(MEMBER,),
              response=rc.MemberPage, tag="me")
    def me_rewards(self, call, shop_id):
        return self.rewards.call("available", {"shop_id": shop_id, "phone": call.principal.phone})

    @endpoint("POST", f"{ME}/redemptions", summary="Redeem a reward", roles=(MEMBER,), request=rc.RedeemBody,
              response=rc.Redemption, status=201, idempotent=True, tag="me")
    def me_redeem(self, call, shop_id):
        """As at the counter, by the member: 409 insufficient_points, out_of_stock, limit_reached,
        tier_not_allowed, ...; 503 redemption_pending (GET it later)."""
        body = call.body
        result = self.rewards.call("redeem", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "phone": call.principal.phone, "reward_id": str(body["reward_id"]),
            "branch_id": None if body["branch_id"] is None else str(body["branch_id"]),
            "address": _ready(body["address"]), "actor": call.principal.actor},
            timeout=3 * float(self.config.get("RPC_TIMEOUT", 5)))
        return result, result["replayed"]

    @endpoint("GET", f"{ME}/coupons", summary="My coupons, newest first", roles=(MEMBER,), response=rc.CouponList,
              tag="me")
    def me_coupons(self, call, shop_id):
        return self.rewards.call("member_coupons", {"shop_id": shop_id, "phone": call.principal.phone})

    # --- the shop's side -------------------------------------------------------------

    @endpoint("PUT", "/shops/{shop_id}/line-login", summary="Set the shop's LINE Login (LIFF) channel",
              roles=(ADMIN,), request=me.LineLoginBody, response=me.LineLogin, tag="me")
    def set_line_login(self, call, shop_id):
        """Its channel id is the audience members' ID tokens must have; its secret verifies web
        login tokens and is never returned."""
        return self.members.call("set_line_login", {"shop_id": shop_id, **call.body})

    @endpoint("GET", "/shops/{shop_id}/line-login", summary="The shop's LINE Login channel (never its secret)",
              roles=(ADMIN,), response=me.LineLogin, tag="me")
    def get_line_login(self, call, shop_id):
        return self.members.call("get_line_login", {"shop_id": shop_id})

    @endpoint("POST", "/shops/{shop_id}/members/{member_id}/sign-out", summary="Sign a member out everywhere",
              roles=(ADMIN,), response=me.SignedOut, tag="me")
    def sign_member_out(self, call, shop_id, member_id):
        """Every token of the member is revoked (a lost phone); effective within AUTH_CACHE_SECONDS."""
        return self.members.call("sign_out", {"shop_id": shop_id, "member_id": member_id, "all": True})
