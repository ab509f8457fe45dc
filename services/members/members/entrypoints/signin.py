"""Member sign-in: one-time codes by SMS (sent by the notifier), LINE ID tokens, member tokens."""
import datetime

import jwt
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from chassis import errors as chassis_errors
from chassis.errors import load
from chassis.rpc import RpcClient
from members import errors, signin, signin_handlers, signin_jobs, signin_store, store
from members import signin_contracts as sc

LINE_JWKS_URL = "https://api.line.me/oauth2/v2.1/certs"


def _now():
    return datetime.datetime.now(datetime.UTC)


class SignInSettings(DependencyProvider):
    """Config SIGNIN: LINE_JWKS_URL, OTP_PEPPER, TOKEN_DAYS, OTP_PER_PHONE, OTP_PER_IP,
    OTP_WINDOW_MINUTES, OTP_SEND_TIMEOUT, NONCES_PER_IP (LINE nonces per address and window).
    LINE's signing keys are fetched once and cached (an unknown key id fetches them again)."""

    def setup(self):
        section = self.container.config.get("SIGNIN") or {}
        self.jwks = jwt.PyJWKClient(section.get("LINE_JWKS_URL") or LINE_JWKS_URL, cache_keys=True,
                                    lifespan=3600, timeout=5)
        self.pepper = str(section.get("OTP_PEPPER") or "").encode()
        self.token_days = int(section.get("TOKEN_DAYS") or signin.TOKEN_DAYS)
        self.limits = {"per_phone": int(section.get("OTP_PER_PHONE") or signin.DEFAULT_LIMITS["per_phone"]),
                       "per_ip": int(section.get("OTP_PER_IP") or signin.DEFAULT_LIMITS["per_ip"]),
                       "window_minutes": int(section.get("OTP_WINDOW_MINUTES")
                                             or signin.DEFAULT_LIMITS["window_minutes"]),
                       "nonces_per_ip": int(section.get("NONCES_PER_IP") or 60)}
        self.send_timeout = float(section.get("OTP_SEND_TIMEOUT") or 15)

    def es256_key(self, kid):
        try:
            return self.jwks.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError:
            raise chassis_errors.Unavailable("line_keys_unavailable", "LINE's signing keys could not be fetched") \
                from None
        except jwt.PyJWKClientError:
            return None

    def get_dependency(self, worker_ctx):
        return self


class SignIn:
    sign_in = SignInSettings()
    notifier = RpcClient("notifier")

    @rpc(expected_exceptions=errors.EXPECTED)
    def set_line_login(self, request):
        """The shop's LINE Login (LIFF) channel: its id (the audience of members' ID tokens) and
        secret (stored, never returned). Errors: shop_not_found."""
        cmd = load(sc.SetLineLogin(), request)
        with self.db.transaction() as conn:
            store.get_shop(conn, cmd["shop_id"])
            row = signin_store.save_channel(conn, cmd["shop_id"], cmd["channel_id"], cmd["channel_secret"])
        return sc.LINE_LOGIN.dump({**row, "secret_set": True})

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_line_login(self, request):
        """The shop's LINE Login channel id and whether a secret is set (never the secret)."""
        cmd = load(sc.ShopRef(), request)
        with self.db.connection() as conn:
            row = signin_store.channel(conn, cmd["shop_id"])
        if row is None:
            return sc.LINE_LOGIN.dump({"shop_id": cmd["shop_id"], "channel_id": None, "secret_set": False,
                                       "updated_at": None})
        return sc.LINE_LOGIN.dump({**row, "secret_set": True})

    @rpc(expected_exceptions=errors.EXPECTED)
    def request_otp(self, request):
        """Send a 6-digit code to the phone by SMS (through the notifier), valid 5 minutes, 5 tries.
        The same answer for a member and a stranger. Errors: otp_rate_limited (per phone, per
        client_ip), shop_not_found, the notifier's sms_not_configured; 503 when it is down."""
        cmd = load(sc.RequestOtp(), request)
        with self.db.transaction() as conn:
            challenge, code, shop = signin_handlers.request_otp(conn, cmd, self.sign_in.limits, self.sign_in.pepper,
                                                                _now())
        try:
            self.notifier.call("send_otp", {
                "shop_id": str(cmd["shop_id"]), "phone": cmd["phone"], "code": code, "language": cmd["language"],
                "shop_name": shop["name"], "challenge_id": str(challenge["challenge_id"]),
                "expires_at": challenge["expires_at"].isoformat()}, timeout=self.sign_in.send_timeout)
        except errors.EXPECTED:
            # refused for good (no SMS channel, ...): the code can never arrive
            with self.db.transaction() as conn:
                signin_store.kill_challenge(conn, challenge["challenge_id"])
            raise
        return sc.OtpSent().dump(challenge)

    @rpc(expected_exceptions=errors.EXPECTED)
    def verify_otp(self, request):
        """The right code signs in the member of its phone (a phone-only member is made for a new
        phone) and answers a member token (shown once). A wrong try is counted; the fifth kills
        the code. Errors: otp_not_found, otp_wrong_code, otp_expired, otp_dead, otp_used.
        Events: members.signed_in (+ members.member_created)."""
        cmd = load(sc.VerifyOtp(), request)
        with self.db.transaction() as conn:
            result, refusal = signin_handlers.verify_otp(conn, cmd, self.outbox, self.sign_in.pepper, _now(),
                                                         self.sign_in.token_days)
        if refusal is not None:
            raise refusal
        return result

    def _line_claims(self, shop_id, id_token, nonce):
        with self.db.connection() as conn:
            channel = signin_store.channel(conn, shop_id)
        if channel is None:
            raise errors.line_login_not_configured()
        try:
            return signin.verify_line_token(id_token, channel_id=channel["channel_id"],
                                            channel_secret=channel["channel_secret"],
                                            es256_key=self.sign_in.es256_key, now=_now(), nonce=nonce)
        except signin.LineTokenError as exc:
            raise errors.line_token_refused(exc.reason, str(exc)) from None

    @rpc(expected_exceptions=errors.EXPECTED)
    def line_nonce(self, request):
        """A nonce for the shop's LINE Login request (valid 10 minutes, accepted once): an ID
        token that carries a nonce signs in only with one this service issued."""
        cmd = load(sc.NonceRequest(), request)
        now = _now()
        nonce, expires_at = signin.new_nonce(), now + datetime.timedelta(minutes=signin.NONCE_MINUTES)
        limits = self.sign_in.limits
        with self.db.transaction() as conn:
            ip = cmd["client_ip"]
            if ip is not None:
                signin_store.lock(conn, f"nonce:ip:{ip}")
                since = now - datetime.timedelta(minutes=limits["window_minutes"])
                if signin_store.nonces_from_ip(conn, ip, since) >= limits["nonces_per_ip"]:
                    raise errors.line_nonce_rate_limited(limits["nonces_per_ip"], limits["window_minutes"])
            signin_store.issue_nonce(conn, cmd["shop_id"], nonce, ip, now, expires_at)
        return {"nonce": nonce, "expires_at": expires_at.isoformat()}

    def _spend_line_token(self, conn, shop_id, id_token, claims, now):
        """A LINE ID token signs in once; a nonce in it must be one this shop was issued, unused.
        Called only when the sign-in succeeds (a refused one can be retried with the same token)."""
        if "nonce" in claims and not signin_store.use_nonce(conn, shop_id, str(claims["nonce"]), now):
            raise errors.line_token_refused("wrong_nonce", "its nonce was not issued by this shop, expired or "
                                                           "was used: ask for a new one (line_nonce)")
        if not signin_store.use_line_token(conn, shop_id, signin.line_token_hash(id_token),
                                           signin.line_token_expiry(claims)):
            raise errors.line_token_refused("replayed", "this ID token was already used to sign in: get a new one")

    @rpc(expected_exceptions=errors.EXPECTED)
    def line_sign_in(self, request):
        """A LINE ID token of the shop's channel (verified: signature, issuer, audience, expiry,
        nonce) signs in the member linked to that LINE user; an unlinked one is linked to the
        phone a code proves (`otp`), else line_account_not_linked. Errors: line_token_<reason>,
        line_login_not_configured, line_user_taken, member_has_other_line_account, the otp_*
        errors. Events: members.signed_in, members.line_linked."""
        cmd = load(sc.LineSignIn(), request)
        claims = self._line_claims(cmd["shop_id"], cmd["id_token"], cmd["nonce"])
        now = _now()
        with self.db.transaction() as conn:
            result, refusal = signin_handlers.line_sign_in(conn, cmd, claims, self.outbox, self.sign_in.pepper,
                                                           now, self.sign_in.token_days)
            if refusal is None:
                self._spend_line_token(conn, cmd["shop_id"], cmd["id_token"], claims, now)
        if refusal is not None:
            raise refusal
        return result

    @rpc(expected_exceptions=errors.EXPECTED)
    def link_line(self, request):
        """Link a LINE account (its verified ID token) to a signed-in member; again with the same
        account changes nothing. Errors: line_user_taken, member_has_other_line_account,
        line_token_<reason>. Event: members.line_linked."""
        cmd = load(sc.LinkLine(), request)
        claims = self._line_claims(cmd["shop_id"], cmd["id_token"], cmd["nonce"])
        now = _now()
        with self.db.transaction() as conn:
            member = signin_store.member(conn, cmd["shop_id"], cmd["member_id"])
            member = signin_handlers.link(conn, self.outbox, member, claims["sub"], now)
            self._spend_line_token(conn, cmd["shop_id"], cmd["id_token"], claims, now)
        return sc.MEMBER_VIEW.dump(member)

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate_member(self, request):
        """Who a member token stands for (role member, shop, member, phone), or invalid_member_token
        (unknown, expired, revoked, shop cancelled)."""
        cmd = load(sc.AuthenticateMember(), request)
        with self.db.connection() as conn:
            principal = signin_store.authenticate(conn, signin.hash_token(cmd["token"]), _now())
        return sc.PRINCIPAL.dump(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def sign_out(self, request):
        """Revoke one member token (`token_id`) or all the member's (`all`); idempotent.
        Event: members.signed_out."""
        cmd = load(sc.SignOut(), request)
        with self.db.transaction() as conn:
            return signin_handlers.sign_out(conn, cmd, self.outbox, _now(),
                                            "sign_out_all" if cmd["all"] else "sign_out")

    @rpc(expected_exceptions=errors.EXPECTED)
    def my_profile(self, request):
        """A member as they see themselves (profile, tier, points balance), or member_not_found."""
        cmd = load(sc.MemberRef(), request)
        with self.db.connection() as conn:
            return sc.MEMBER_VIEW.dump(signin_store.member(conn, cmd["shop_id"], cmd["member_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def purge_sign_in(self, request=None):
        """As of `as_of` (default now): forget code challenges older than a day and tokens expired
        or revoked more than 30 days ago. Safe to run twice; one run at a time."""
        cmd = load(sc.PurgeSignIn(), request or {})
        return signin_jobs.purge(self.db, cmd["as_of"] or _now())

    @timer(interval=3600)
    def purge_sign_in_timer(self):
        """Hourly: the purge as of now (python -m members.signin_jobs purge --as-of ... by hand)."""
        self.log.info("sign_in_purged", **signin_jobs.purge(self.db, _now()))
