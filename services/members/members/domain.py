"""Rules of the members service that need no I/O."""
import hashlib
import secrets
import zoneinfo

KEY_PREFIX = "lk_"
DEFAULT_TIMEZONE = "Asia/Bangkok"

# Roles an admin may issue keys for; staff keys come with a staff member and
# operator keys only from the command line.
ISSUABLE_ROLES = ("shop_admin", "internal_system")


def new_api_key():
    """(key shown once, its display prefix, the hash stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], hash_api_key(key)


def hash_api_key(key):
    return hashlib.sha256(key.encode("utf-8")).digest()


def is_timezone(name):
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"


# --- members and registration ----------------------------------------------

GENDERS = ("female", "male", "other", "unspecified")
MEMBER_STATUSES = ("phone_only", "registered", "imported", "erased")
QUESTION_KINDS = ("single", "multiple", "text")
LINE_USER_ID = r"^U[0-9a-f]{32}$"
PROFILE_FIELDS = ("name", "gender", "birthday", "email", "address", "line_user_id")
# Statuses a registration may claim: the phone earned before signing up, or the shop imported it.
CLAIMABLE = ("phone_only", "imported")


def tag_problem(tag):
    """Why `tag` is not a tag (None if it is): 1-50 characters, no comma, no surrounding space."""
    if not tag or len(tag) > 50:
        return "a tag has 1 to 50 characters"
    if "," in tag:
        return "a tag may not contain a comma"
    if tag != tag.strip():
        return "a tag may not start or end with a space"
    return None


def birthday_problem(birthday, today=None):
    import datetime

    today = today or datetime.date.today()
    if birthday is None:
        return None
    if birthday > today:
        return "a birthday cannot be in the future"
    if birthday.year < 1900:
        return "a birthday before 1900 is not plausible"
    return None


def choices_problem(kind, choices):
    """Why a question's choices do not fit its kind (None if they do)."""
    if kind == "text":
        return "a text question has no choices" if choices else None
    if len(choices) < 2:
        return "a choice question needs at least 2 choices"
    values = [choice["value"] for choice in choices]
    if len(set(values)) != len(values):
        return "choice values must be different"
    return None


def check_answers(questions, answers):
    """Validate registration answers against the shop's live questions.

    questions: {question_id: question}; answers: [{question_id, value, values}].
    Returns (rows [(question_id, answer)], tags set, errors {field: [reason]})."""
    errors, rows, tags = {}, [], set()
    given = {}
    for index, answer in enumerate(answers):
        qid = answer["question_id"]
        field = f"answers.{index}"
        question = questions.get(qid)
        if question is None:
            errors[field] = ["unknown or archived question"]
            continue
        if qid in given:
            errors[field] = ["this question is answered twice"]
            continue
        given[qid] = True
        by_value = {choice["value"]: choice for choice in question["choices"]}
        if question["kind"] == "text":
            if not answer.get("value") or answer.get("values"):
                errors[field] = ["a text question takes one `value`"]
                continue
            rows.append((qid, {"value": answer["value"]}))
        elif question["kind"] == "single":
            if answer.get("value") not in by_value or answer.get("values"):
                errors[field] = [f"`value` must be one of {sorted(by_value)}"]
                continue
            rows.append((qid, {"value": answer["value"]}))
            tags.update(filter(None, [by_value[answer["value"]].get("tag")]))
        else:
            values = answer.get("values") or []
            if answer.get("value") is not None or not values or any(v not in by_value for v in values) \
                    or len(set(values)) != len(values):
                errors[field] = [f"`values` must be distinct choices among {sorted(by_value)}"]
                continue
            rows.append((qid, {"values": values}))
            tags.update(filter(None, (by_value[v].get("tag") for v in values)))
    for qid, question in questions.items():
        if question["required"] and qid not in given:
            errors.setdefault("answers", []).append(f"question {qid} ({question['prompt']!r}) must be answered")
    return rows, tags, errors


def profile_diff(before, after_fields):
    """{field: [old, new]} for each given field whose value changes (dates as ISO text)."""
    def text(value):
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {field: [text(before.get(field)), text(value)] for field, value in after_fields.items()
            if field in PROFILE_FIELDS and text(before.get(field)) != text(value)}
