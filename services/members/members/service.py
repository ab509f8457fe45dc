"""The members service: its dependencies, and entrypoints gathered from `members.entrypoints`."""
from chassis.service import ServiceBase
from members.entrypoints.directory import Directory
from members.entrypoints.projections import Projections
from members.entrypoints.registration import Registration


class MembersService(Directory, Registration, Projections, ServiceBase):
    name = "members"
