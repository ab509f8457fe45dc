"""Errors of the points service: chassis error kinds with points' codes (the RPC contract)."""
from chassis.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound  # noqa: F401


def earn_rule_missing(shop_id):
    return Conflict("earn_rule_missing", f"shop {shop_id} has no earn rule yet")


def duplicate_receipt(receipt_no):
    return Conflict("duplicate_receipt", f"receipt {receipt_no} already earned points at this branch",
                    {"receipt_no": ["already used at this branch"]})


def idempotency_key_reused():
    return Conflict("idempotency_key_reused", "this idempotency key was already used for a different request",
                    {"idempotency_key": ["already used with a different request body"]})


def insufficient_points(balance, wanted):
    return Conflict("insufficient_points", f"the balance is {balance} points, {wanted} were asked for",
                    {"points": [f"more than the balance ({balance})"]})


def account_not_found(phone):
    return NotFound("account_not_found", f"no points account for {phone} in this shop", {"phone": ["unknown"]})


def entry_not_found(entry_id):
    return NotFound("entry_not_found", f"no ledger entry {entry_id} in this shop", {"entry_id": ["unknown"]})


def sale_not_found(sale_id):
    return NotFound("sale_not_found", f"no sale {sale_id} in this shop", {"sale_id": ["unknown"]})


def order_not_found(order_id):
    return NotFound("order_not_found", f"no order {order_id} in this shop", {"order_id": ["unknown"]})


def spend_not_found(spend_key):
    return NotFound("spend_not_found", f"no spend {spend_key} in this shop", {"spend_key": ["unknown"]})


def spend_cancelled(spend_key):
    return Conflict("spend_cancelled", f"spend {spend_key} was cancelled before it was made",
                    {"idempotency_key": ["cancelled"]})


def shop_not_found(shop_id):
    return NotFound("shop_not_found", f"shop {shop_id} does not exist", {"shop_id": ["unknown shop"]})


def branch_not_found(branch_id):
    return NotFound("branch_not_found", f"branch {branch_id} does not exist in this shop",
                    {"branch_id": ["unknown branch"]})


def wrong_branch():
    return Forbidden("wrong_branch", "this was recorded at another branch", {"sale_id": ["not your branch"]})


def qr_not_found(qr_id):
    return NotFound("qr_not_found", f"no QR code {qr_id} in this shop", {"qr_id": ["unknown"]})


def not_voidable(kind):
    return Conflict("not_voidable", f"a {kind} entry cannot be voided", {"entry_id": [f"is a {kind} entry"]})


def already_voided():
    return Conflict("already_voided", "this credit was already voided", {"entry_id": ["already voided"]})


def nothing_to_void():
    return Conflict("nothing_to_void", "this sale earned no points", {"sale_id": ["earned 0 points"]})


def order_conflict():
    return Conflict("order_already_recorded", "this order id was already recorded with other details",
                    {"order_id": ["already recorded differently"]})


def refund_exceeds_order(left_satang):
    return Conflict("refund_exceeds_order", "refunds would exceed the order's amount",
                    {"amount": [f"at most {left_satang / 100:.2f} baht is left to refund"]})


def qr_invalid():
    return InvalidInput("qr_invalid", "this QR code is not one of this shop's, or was altered",
                        {"token": ["not a valid QR code"]})


def qr_expired():
    return Conflict("qr_expired", "this QR code has expired; ask staff for a new one", {"token": ["expired"]})


def qr_used():
    return Conflict("qr_already_used", "this QR code was already used", {"token": ["already used"]})


def printed_qr_disabled():
    return Conflict("printed_qr_disabled", "this branch's printed QR code is not enabled",
                    {"token": ["printed QR disabled"]})


def daily_limit_reached(limit):
    return Conflict("daily_limit_reached", f"this printed QR code gives points {limit} time(s) a day per member",
                    {"token": [f"limit of {limit} per day reached"]})
