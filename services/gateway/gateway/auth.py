"""Who is calling, and may they do this. Pure rules plus a small TTL cache."""
import hashlib
import time
from dataclasses import dataclass

from chassis import errors

OPERATOR = "platform_operator"
ADMIN = "shop_admin"
STAFF = "branch_staff"
INTERNAL = "internal_system"
MEMBER = "member"
MEMBER_TOKEN_PREFIX = "mt_"  # member tokens (members' sign-in); API keys start with lk_


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    shop_id: str | None = None
    branch_id: str | None = None
    staff_id: str | None = None

    @property
    def actor(self):
        """How the ledger records this caller."""
        kind = {OPERATOR: "system", ADMIN: "admin", STAFF: "staff", INTERNAL: "internal_system"}[self.role]
        return {"type": kind, "id": self.staff_id or self.key_id}


@dataclass(frozen=True)
class MemberPrincipal:
    """A member acting for themselves with a member token: their own shop, their own data."""

    token_id: str
    shop_id: str
    member_id: str
    phone: str
    role: str = MEMBER
    branch_id: str | None = None
    staff_id: str | None = None

    @property
    def key_id(self):
        return self.token_id

    @property
    def actor(self):
        return {"type": "member", "id": self.member_id}


def api_key_from(headers):
    """The key from `Authorization: Bearer <key>` (or `X-API-Key`), else 401."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    if headers.get("X-API-Key", "").strip():
        return headers["X-API-Key"].strip()
    raise errors.Unauthorized("missing_api_key", "send your API key as 'Authorization: Bearer <key>'")


def authorize(principal, roles, shop_id=None):
    """Refuse a caller whose role is not allowed here, or who acts for another shop."""
    if principal.role not in roles:
        raise errors.Forbidden("role_not_allowed", f"a {principal.role} key may not do this")
    if shop_id is not None and principal.role != OPERATOR and principal.shop_id != shop_id:
        raise errors.Forbidden("wrong_shop", "this API key belongs to another shop")


def sale_branch(principal, requested_branch_id):
    """The branch a sale is recorded at: a branch's staff may only sell at their branch;
    everyone else (admin, manager, internal system) names the branch."""
    if principal.role == STAFF and principal.branch_id is not None:
        if requested_branch_id not in (None, principal.branch_id):
            raise errors.Forbidden("wrong_branch", "this staff key acts for another branch",
                                   {"branch_id": ["not your branch"]})
        return principal.branch_id
    if requested_branch_id is None:
        raise errors.InvalidInput("invalid_input", "branch_id is required for this key",
                                  {"branch_id": ["Missing data for required field."]})
    return requested_branch_id


class KeyCache:
    """API key -> Principal for `ttl` seconds. Keyed by the key's hash, never the key. A
    principal can also be forgotten by its key id (a member token's id) or its member, when
    members announces a sign-out or an erasure."""

    def __init__(self, ttl, clock=time.monotonic, max_entries=100_000):
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._entries = {}
        self._slots_of = {}  # key id or member id -> slots

    @staticmethod
    def _slot(api_key):
        return hashlib.sha256(api_key.encode("utf-8")).digest()

    def get(self, api_key):
        hit = self._entries.get(self._slot(api_key))
        if hit is None or hit[1] < self.clock():
            return None
        return hit[0]

    def forget(self, api_key):
        self._entries.pop(self._slot(api_key), None)

    def forget_ids(self, ids):
        """Forget the principals of these key ids (member token ids) or member ids."""
        for ident in ids:
            for slot in self._slots_of.pop(str(ident), ()):
                self._entries.pop(slot, None)

    def put(self, api_key, principal):
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
            self._slots_of.clear()
        slot = self._slot(api_key)
        self._entries[slot] = (principal, self.clock() + self.ttl)
        for ident in {principal.key_id, getattr(principal, "member_id", None)} - {None}:
            self._slots_of.setdefault(str(ident), set()).add(slot)
