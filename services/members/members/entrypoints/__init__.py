"""The members service's entrypoints by area, mixed into `members.service.MembersService`."""
