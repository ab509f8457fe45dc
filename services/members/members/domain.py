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
