"""Member tiers: settings, the dry run, the cycle on request, a member's tier and its history."""
from gateway import tiers_contracts as tc
from gateway.auth import ADMIN, INTERNAL, OPERATOR, STAFF
from gateway.endpoints import endpoint

SETTINGS = "/shops/{shop_id}/tier-settings"
MEMBER = "/shops/{shop_id}/members/{member_id}"


def _iso(body, name):
    return {**body, name: None if body.get(name) is None else body[name].isoformat()}


class TierRoutes:
    @endpoint("GET", SETTINGS, summary="The shop's tier settings", roles=(ADMIN, OPERATOR),
              response=tc.TierSettings, tag="tiers")
    def get_tier_settings(self, call, shop_id):
        """404 tier_settings_not_found until they are set."""
        return self.members.call("get_tier_settings", {"shop_id": shop_id})

    @endpoint("PUT", SETTINGS, summary="Set the shop's tiers, window and downgrade rule (a new version)",
              roles=(ADMIN,), request=tc.TierSettingsBody, response=tc.TierSettings, tag="tiers")
    def set_tier_settings(self, call, shop_id):
        """Up to 5 tiers, lowest first, thresholds strictly increasing (422 naming the field:
        more than 5, a duplicate name, unordered or overlapping thresholds). Applies from each
        member's next earn and at the next cycle end or tier expiry. The same terms again
        change nothing (`changed: false`)."""
        return self.members.call("set_tier_settings", {"shop_id": shop_id, **call.body})

    @endpoint("POST", f"{SETTINGS}/dry-run", summary="How many members would move up, down or stay",
              roles=(ADMIN,), request=tc.DryRunBody, response=tc.DryRun, tag="tiers")
    def dry_run_tier_settings(self, call, shop_id):
        """Each member placed by their window points under these settings as of `as_of` (default
        now), compared with the tier they hold. Nothing is changed."""
        return self.members.call("dry_run_tier_settings", {"shop_id": shop_id, **_iso(call.body, "as_of")},
                                 timeout=120)

    @endpoint("POST", "/shops/{shop_id}/tier-cycle", summary="Run the shop's tier cycle as of a time",
              roles=(OPERATOR, ADMIN), request=tc.CycleBody, response=tc.CycleRun, tag="tiers")
    def run_tier_cycle(self, call, shop_id):
        """Evaluates the shop's due cycle end or tier expiries as of `as_of` (default now); it also
        runs every 15 minutes by itself. Safe to repeat: a cycle end is evaluated once."""
        return self.members.call("run_tier_cycle", {"shop_id": shop_id, **_iso(call.body, "as_of")}, timeout=300)

    @endpoint("GET", f"{MEMBER}/tier", summary="A member's tier and why (the decision and its inputs)",
              roles=(ADMIN, STAFF, INTERNAL), response=tc.MemberTier, tag="tiers")
    def member_tier(self, call, shop_id, member_id):
        return self.members.call("member_tier", {"shop_id": shop_id, "member_id": member_id})

    @endpoint("GET", f"{MEMBER}/tier-history", summary="A member's tier decisions, newest first",
              roles=(ADMIN, STAFF, INTERNAL), query=tc.HistoryQuery, response=tc.History, tag="tiers")
    def tier_history(self, call, shop_id, member_id):
        return self.members.call("tier_history", {"shop_id": shop_id, "member_id": member_id, **call.query})
