"""The members service: its dependencies, and entrypoints gathered from `members.entrypoints`."""
from chassis.service import ServiceBase
from members.entrypoints.directory import Directory
from members.entrypoints.imports import Imports
from members.entrypoints.privacy import Privacy
from members.entrypoints.projections import Projections
from members.entrypoints.registration import Registration
from members.entrypoints.signin import SignIn
from members.entrypoints.tiers import Tiers


class MembersService(Directory, Registration, Projections, Privacy, SignIn, Imports, Tiers, ServiceBase):
    name = "members"
