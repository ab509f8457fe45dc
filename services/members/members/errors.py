"""Errors of the members service: chassis error kinds with members' codes.

The kinds (NotFound, Conflict, ...) are part of the RPC contract; the codes
below are what clients branch on.
"""
from chassis.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized  # noqa: F401


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


# --- personal data (PDPA) ----------------------------------------------------

def privacy_member_not_found(ref):
    return NotFound("member_not_found", f"no member {ref} in this shop", {"member_id": ["unknown member"]})


# --- member sign-in (members/signin*.py) -------------------------------------

def otp_not_found(challenge_id):
    return NotFound("otp_not_found", f"no one-time code {challenge_id} in this shop",
                    {"challenge_id": ["unknown code request"]})


def otp_wrong_code(tries_left):
    return Unauthorized("otp_wrong_code", f"the code is wrong; {tries_left} tries left",
                        {"code": [f"wrong code, {tries_left} tries left"]})


def otp_expired():
    return Unauthorized("otp_expired", "the code has expired; ask for a new one", {"code": ["expired"]})


def otp_dead():
    return Unauthorized("otp_dead", "too many wrong tries; ask for a new code", {"code": ["no tries left"]})


def otp_used():
    return Conflict("otp_used", "this code was already used; ask for a new one", {"code": ["already used"]})


def otp_rate_limited(which, limit, minutes):
    field = "phone" if which == "phone" else "client_ip"
    return Conflict("otp_rate_limited", f"at most {limit} codes per {which} every {minutes} minutes; try later",
                    {field: [f"more than {limit} codes in {minutes} minutes"]})


def invalid_member_token():
    return Unauthorized("invalid_member_token", "the member token is unknown, expired or revoked")


def line_login_not_configured():
    return Conflict("line_login_not_configured", "the shop has not set its LINE Login channel",
                    {"id_token": ["the shop has no LINE Login channel"]})


def line_token_refused(reason, detail):
    return Unauthorized(f"line_token_{reason}", f"the LINE ID token is refused: {detail}", {"id_token": [reason]})


def line_account_not_linked():
    return Forbidden("line_account_not_linked",
                     "this LINE account is not linked to a member of this shop: sign in with a code sent by SMS "
                     "(or send one with this request) to link it",
                     {"id_token": ["not linked to a member"]})


def member_has_other_line_account():
    return Conflict("member_has_other_line_account", "this member is already linked to another LINE account",
                    {"id_token": ["the member has another LINE account"]})


# --- tiers ---------------------------------------------------------------------

def tier_settings_not_found(shop_id):
    return NotFound("tier_settings_not_found", f"shop {shop_id} has no tier settings",
                    {"shop_id": ["no tier settings yet"]})


def tier_member_not_found(member_id):
    return NotFound("member_not_found", f"no member {member_id} in this shop", {"member_id": ["unknown member"]})


# --- member import and export ----------------------------------------------------

def import_not_found(import_id):
    return NotFound("import_not_found", f"no import {import_id} in this shop", {"import_id": ["unknown import"]})


def import_file_refused(problem):
    """A file that cannot be imported at all (imports.FileProblem): its own code, e.g.
    import_wrong_columns, import_not_utf8, import_file_empty, import_too_many_rows,
    import_not_a_spreadsheet."""
    return InvalidInput(problem.code, problem.message, problem.fields)


def import_upload_incomplete(expected, received):
    return InvalidInput("import_upload_incomplete", f"the upload has {received} of its {expected} parts",
                        {"parts": [f"{received} of {expected} parts received"]})


def import_upload_corrupted():
    return InvalidInput("import_upload_corrupted", "the uploaded file does not match its SHA-256",
                        {"sha256": ["does not match the uploaded bytes"]})


def line_nonce_rate_limited(limit, minutes):
    return Conflict("line_nonce_rate_limited", f"at most {limit} LINE nonces per address every {minutes} minutes",
                    {"client_ip": [f"more than {limit} nonces in {minutes} minutes"]})
