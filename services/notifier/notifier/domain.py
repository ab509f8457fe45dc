"""Rules of the notifier without I/O: SMS parts, back-off, quiet hours, channel choice."""
import datetime
import random

# GSM 03.38 basic character set (and the extension table, which costs two septets).
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
                "¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
MAX_ATTEMPTS = 12  # 2 s, 4 s, ... then every 10 minutes: about 45 minutes of tries
BACKOFF_BASE = 2.0  # seconds: 2, 4, 8, ... capped
BACKOFF_CAP = 600.0


def sms_parts(text):
    """(encoding, parts): GSM-7 160 per message or 153 per part when split; UCS-2 (Thai,
    emoji) 70 or 67. Characters outside the BMP count twice in UCS-2 (UTF-16)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "ucs2"
    if units <= single:
        return encoding, 1
    return encoding, -(-units // multi)


def backoff(attempts, retry_after=None, rng=random.random):
    """Seconds until the next try after `attempts` tries: exponential with full jitter,
    never sooner than the provider's Retry-After."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    delay = ceiling / 2 + rng() * ceiling / 2
    return max(delay, float(retry_after or 0))


def in_quiet_hours(local_time, start, end):
    """True when `local_time` is within [start, end), the window may wrap midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def quiet_until(now, tz, start, end):
    """For a marketing message created at `now` (UTC): when it may go (now, or the next end
    of the shop's quiet hours in its time zone)."""
    local = now.astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, end, tz).astimezone(datetime.UTC)


def choose_channel(contact, shop, kind):
    """('line' | 'sms', recipient) or ('none', reason): LINE if linked and not blocked, else
    SMS if the shop enabled it, else nothing; opted-out members get nothing."""
    if contact and contact.get(f"opt_out_{kind}"):
        return "none", f"opted out of {kind} messages"
    if contact and contact.get("line_user_id") and not contact.get("line_blocked"):
        if shop and shop.get("line_token"):
            return "line", contact["line_user_id"]
    if shop and shop.get("sms_enabled") and shop.get("sms_provider"):
        return "sms", None
    if contact and contact.get("line_blocked"):
        return "none", "the member blocked the shop on LINE and the shop has no SMS"
    return "none", "no LINE link and the shop has not enabled SMS"
