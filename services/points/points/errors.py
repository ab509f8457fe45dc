"""Errors of the points service: chassis error kinds with points' codes."""
from chassis.errors import EXPECTED, Conflict, NotFound  # noqa: F401


def earn_rule_missing(shop_id):
    return Conflict("earn_rule_missing", f"shop {shop_id} has no earn rule yet")


def duplicate_receipt(receipt_no):
    return Conflict("duplicate_receipt", f"receipt {receipt_no} already earned points at this branch",
                    {"receipt_no": ["already used at this branch"]})


def idempotency_key_reused():
    return Conflict("idempotency_key_reused", "this idempotency key was already used for a different request",
                    {"idempotency_key": ["already used with a different request body"]})


def account_not_found(phone):
    return NotFound("account_not_found", f"no points account for {phone} in this shop", {"phone": ["unknown"]})


def shop_not_found(shop_id):
    return NotFound("shop_not_found", f"shop {shop_id} does not exist", {"shop_id": ["unknown shop"]})


def branch_not_found(branch_id):
    return NotFound("branch_not_found", f"branch {branch_id} does not exist in this shop",
                    {"branch_id": ["unknown branch"]})
