"""Projections of other services' events: members' running totals from points events."""
from chassis import inbox
from chassis.events import batch_event_handler
from members import contracts, handlers, tier_handlers


class Projections:
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
        """points.adjusted: the member's latest balance (a phone-only member for a new phone); a
        credit (an import, a campaign, an admin's) counts in the points received."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_adjusted", earned=False,
                             credits=True)

    @batch_event_handler("points", "expired.v1")
    def on_points_expired(self, bodies):
        """points.expired: the member's latest balance."""
        return self._project(bodies, contracts.POINTS_CHANGED_DATA, "members.on_points_expired", earned=False)

    @batch_event_handler("stamps", "granted.v1")
    def on_stamps_granted(self, bodies):
        """stamps.granted: a customer who only collects stamps becomes a phone-only member
        (found by staff, reached by campaigns); their points totals are not touched."""
        events, rejected = inbox.load_events(contracts.STAMPS_GRANTED_DATA, bodies)
        with self.db.transaction() as conn:
            handlers.record_points(conn, inbox.first_time_many(conn, "members.on_stamps_granted", events),
                                   self.outbox, earned=False)
        return rejected

    def _project(self, bodies, schema, handler, earned, credits=False):
        events, rejected = inbox.load_events(schema, bodies)
        with self.db.transaction() as conn:
            fresh = inbox.first_time_many(conn, handler, events)
            handlers.record_points(conn, fresh, self.outbox, earned=earned, credits=credits)
            tier_handlers.apply_points(conn, fresh, bodies, self.outbox)
        return rejected
