"""Errors of the members service: chassis error kinds with members' codes.

The kinds (NotFound, Conflict, ...) are part of the RPC contract; the codes
below are what clients branch on.
"""
from chassis.errors import EXPECTED, Conflict, InvalidInput, NotFound, Unauthorized  # noqa: F401


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


# --- registration and profiles ---------------------------------------------

def member_id_not_found(member_id):
    return NotFound("member_not_found", f"member {member_id} does not exist in this shop",
                    {"member_id": ["unknown member"]})


def already_registered(phone):
    return Conflict("already_registered", f"{phone} is already a registered member of this shop",
                    {"phone": ["already registered"]})


def member_erased():
    return Conflict("member_erased", "this member's personal data was erased", {"member_id": ["erased"]})


def consent_text_missing():
    return Conflict("consent_text_missing", "the shop has not published its terms and privacy text yet",
                    {"consent_version": ["the shop has no consent text"]})


def consent_outdated(current):
    return InvalidInput("consent_outdated", f"the member must consent to the current version {current!r}",
                        {"consent_version": [f"current version is {current!r}"]})


def consent_version_exists(version):
    return Conflict("consent_version_exists", f"version {version!r} exists with other texts; use a new version",
                    {"version": ["already published with other texts"]})


def line_user_taken():
    return Conflict("line_user_taken", "this LINE account is linked to another member of this shop",
                    {"line_user_id": ["linked to another member"]})


def bad_answers(fields):
    return InvalidInput("invalid_answers", "some registration answers are invalid", fields)


def question_not_found(question_id):
    return NotFound("question_not_found", f"question {question_id} does not exist in this shop",
                    {"question_id": ["unknown question"]})
