"""The points service: its dependencies, and entrypoints gathered from `points.entrypoints`."""
from chassis import inbox
from chassis.events import event_handler
from chassis.rpc import RpcClient
from chassis.service import ServiceBase
from points import event_contracts, store
from points.dependencies import QrSecret
from points.entrypoints.channels import Channels
from points.entrypoints.earning import Earning
from points.entrypoints.imports import Imports
from points.entrypoints.jobs import Jobs
from points.entrypoints.ledger import Ledger
from points.entrypoints.privacy import Privacy
from points.entrypoints.reading import Reading
from points.entrypoints.stamps import Stamps
from points.entrypoints.welcome import Welcome


class PointsService(Earning, Ledger, Channels, Reading, Jobs, Welcome, Imports, Privacy, Stamps, ServiceBase):
    name = "points"
    members = RpcClient("members")
    qr_secret = QrSecret()

    @event_handler("members", "shop_created.v1")
    def on_shop_created(self, body):
        """members.shop_created: keep the shop in the local copy (an upsert: idempotent)."""
        event = inbox.load_event(event_contracts.ShopCreatedData(), body)
        with self.db.transaction() as conn:
            store.sales.upsert_shop(conn, event["data"]["shop_id"], event["data"]["timezone"])

    @event_handler("members", "branch_created.v1")
    def on_branch_created(self, body):
        """members.branch_created: keep the branch in the local copy. (Arriving before
        its shop's event, it fails on the foreign key and is retried after a back-off.)"""
        event = inbox.load_event(event_contracts.BranchCreatedData(), body)
        with self.db.transaction() as conn:
            store.sales.upsert_branch(conn, event["data"]["branch_id"], event["data"]["shop_id"])
