"""Shops, branches, staff, API keys, and members by phone."""
from nameko.rpc import rpc

from chassis.errors import load
from members import contracts, domain, errors, handlers, store


class Directory:

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_shop(self, request):
        """Create a shop and its first admin API key (shown once).

        Idempotent on `idempotency_key`. Errors: invalid_input, idempotency_key_reused.
        Events: members.shop_created, members.api_key_issued.
        """
        cmd = load(contracts.CreateShop(), request)
        with self.db.transaction() as conn:
            result, replayed = handlers.create_shop(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_shop(self, request):
        """The shop, or shop_not_found."""
        cmd = load(contracts.ShopRef(), request)
        with self.db.connection() as conn:
            return contracts.Shop().dump(store.get_shop(conn, cmd["shop_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_branch(self, request):
        """Add a branch. Idempotent on `idempotency_key`. Errors: shop_not_found,
        branch_name_taken. Event: members.branch_created."""
        cmd = load(contracts.CreateBranch(), request)
        with self.db.transaction() as conn:
            result, replayed = handlers.create_branch(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_branch(self, request):
        """The branch of this shop, or branch_not_found."""
        cmd = load(contracts.BranchRef(), request)
        with self.db.connection() as conn:
            return contracts.Branch().dump(store.get_branch(conn, cmd["shop_id"], cmd["branch_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_staff(self, request):
        """Add a staff member (of one branch, or every branch when branch_id is null)
        with their API key (shown once). Idempotent on `idempotency_key`.
        Errors: shop_not_found, branch_not_found. Events: members.staff_added, members.api_key_issued."""
        cmd = load(contracts.CreateStaff(), request)
        with self.db.transaction() as conn:
            result, replayed = handlers.create_staff(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_api_key(self, request):
        """Issue a shop_admin or internal_system key (shown once). Idempotent on
        `idempotency_key`. Event: members.api_key_issued."""
        cmd = load(contracts.CreateApiKey(), request)
        with self.db.transaction() as conn:
            result, replayed = handlers.create_api_key(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate(self, request):
        """Who an API key acts for (role, shop, branch), or invalid_api_key."""
        cmd = load(contracts.AUTHENTICATE, request)
        with self.db.connection() as conn:
            principal = store.authenticate(conn, domain.hash_api_key(cmd["api_key"]))
        return contracts.PRINCIPAL.dump(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_member_by_phone(self, request):
        """The member of this shop with this phone (any written form), or member_not_found."""
        cmd = load(contracts.MEMBER_BY_PHONE, request)
        with self.db.connection() as conn:
            return contracts.MEMBER.dump(store.member_by_phone(conn, cmd["shop_id"], cmd["phone"]))
