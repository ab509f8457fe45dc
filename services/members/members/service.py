"""Entrypoints of the members service: load the request, run the use case, dump the result."""
from nameko.rpc import rpc

from chassis import inbox
from chassis.errors import load
from chassis.events import batch_event_handler
from chassis.service import ServiceBase
from members import contracts, domain, errors, handlers, store


class MembersService(ServiceBase):
    name = "members"

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

    @batch_event_handler("points", "earned.v1")
    def on_points_earned(self, bodies):
        """points.earned, in batches: a phone-only member for a new phone; running totals,
        once per event (inbox). Malformed events are dead-lettered, the rest applied."""
        return self._project(bodies, contracts.POINTS_EARNED_DATA, "members.on_points_earned", earned=True)

    @batch_event_handler("points", "redeemed.v1")
    def on_points_redeemed(self, bodies):
        """points.redeemed: the member's latest balance."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_redeemed", earned=False)

    @batch_event_handler("points", "voided.v1")
    def on_points_voided(self, bodies):
        """points.voided: the member's latest balance."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_voided", earned=False)

    @batch_event_handler("points", "adjusted.v1")
    def on_points_adjusted(self, bodies):
        """points.adjusted: the member's latest balance (a phone-only member for a new phone)."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_adjusted", earned=False)

    @batch_event_handler("points", "expired.v1")
    def on_points_expired(self, bodies):
        """points.expired: the member's latest balance."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_expired", earned=False)

    def _project(self, bodies, schema, handler, earned):
        events, rejected = inbox.load_events(schema, bodies)
        with self.db.transaction() as conn:
            fresh = inbox.first_time_many(conn, handler, events)
            handlers.record_points(conn, fresh, self.outbox, earned=earned)
        return rejected
