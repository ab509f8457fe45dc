"""Errors of the members service: chassis error kinds with members' codes.

The kinds (NotFound, Conflict, ...) are part of the RPC contract; the codes
below are what clients branch on.
"""
from chassis.errors import EXPECTED, Conflict, NotFound, Unauthorized  # noqa: F401


def shop_not_found(shop_id):
    return NotFound("shop_not_found", f"shop {shop_id} does not exist", {"shop_id": ["unknown shop"]})


def branch_not_found(branch_id):
    return NotFound("branch_not_found", f"branch {branch_id} does not exist in this shop",
                    {"branch_id": ["unknown branch"]})


def member_not_found(phone):
    return NotFound("member_not_found", f"no member with phone {phone} in this shop", {"phone": ["unknown member"]})


def branch_name_taken(name):
    return Conflict("branch_name_taken", f"the shop already has a branch named {name!r}", {"name": ["already used"]})


def invalid_api_key():
    return Unauthorized("invalid_api_key", "the API key is unknown or revoked")
