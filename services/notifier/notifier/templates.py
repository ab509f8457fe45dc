"""Message templates: the shop's own per trigger and language, else these defaults."""
import string

TRIGGERS = {
    # trigger: (kind, fields the text may use)
    "points_earned": ("transactional", ("name", "shop", "points", "balance", "tier", "link")),
    "points_expiring": ("transactional", ("name", "shop", "points", "expires", "tier", "link")),
    "coupon_received": ("transactional", ("name", "shop", "reward", "code", "expires", "tier", "link")),
    "coupon_expiring": ("transactional", ("name", "shop", "reward", "code", "expires", "tier", "link")),
    "delivery_status": ("transactional", ("name", "shop", "reward", "status", "carrier", "tracking_no", "tier",
                                          "link")),
    "tier_changed": ("transactional", ("name", "shop", "tier", "previous", "link")),
    "campaign": ("marketing", ("shop", "text", "link")),  # one text for all: sent by LINE multicast
}
DEFAULTS = {
    ("points_earned", "th"): "{shop}: คุณได้รับ {points} คะแนน คะแนนสะสมของคุณคือ {balance} คะแนน",
    ("points_earned", "en"): "{shop}: you earned {points} points. Your balance is {balance} points.",
    ("points_expiring", "th"): "{shop}: คะแนนของคุณ {points} คะแนนจะหมดอายุวันที่ {expires}",
    ("points_expiring", "en"): "{shop}: {points} of your points expire on {expires}.",
    ("coupon_received", "th"): "{shop}: คุณได้รับคูปอง {reward} รหัส {code} ใช้ได้ถึง {expires}",
    ("coupon_received", "en"): "{shop}: you received a coupon for {reward}, code {code}, valid until {expires}.",
    ("coupon_expiring", "th"): "{shop}: คูปอง {reward} รหัส {code} จะหมดอายุวันที่ {expires}",
    ("coupon_expiring", "en"): "{shop}: your coupon for {reward} ({code}) expires on {expires}.",
    ("delivery_status", "th"): "{shop}: ของรางวัล {reward} สถานะ {status} {carrier} {tracking_no}",
    ("delivery_status", "en"): "{shop}: your {reward} is {status}. {carrier} {tracking_no}",
    ("tier_changed", "th"): "{shop}: ยินดีด้วย ระดับสมาชิกของคุณตอนนี้คือ {tier}",
    ("tier_changed", "en"): "{shop}: your member tier is now {tier}.",
    ("campaign", "th"): "{text}",
    ("campaign", "en"): "{text}",
}


class TemplateError(ValueError):
    pass


def check(trigger, body):
    """Refuse a template that names a field its trigger does not have (or is malformed)."""
    if trigger not in TRIGGERS:
        raise TemplateError(f"unknown trigger {trigger!r}")
    allowed = set(TRIGGERS[trigger][1])
    try:
        parts = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(body)
                 if name is not None]
    except ValueError as exc:
        raise TemplateError(f"malformed template: {exc}") from None
    for name, spec, conversion in parts:
        if spec or conversion:
            raise TemplateError(f"{{{name}}}: write fields plainly, without ':' or '!'")
    names = {name for name, _, _ in parts}
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        raise TemplateError(f"unknown fields {unknown}; this trigger has {sorted(allowed)}")


class _Values(dict):
    def __missing__(self, key):
        return ""


class _Plain(string.Formatter):
    """Fields by plain name only (no attribute or index access, no format specs): every value as text."""

    def get_field(self, field_name, args, kwargs):
        if not field_name.isidentifier():
            return "", field_name
        return kwargs[field_name], field_name

    def format_field(self, value, format_spec):
        return str(value)

    def convert_field(self, value, conversion):
        return value


def render(body, values):
    """The text, with missing values empty (a member without a name gets no stray braces)."""
    text = _Plain().vformat(body, (), _Values({k: "" if v is None else v for k, v in values.items()}))
    return " ".join(text.split())


def coupon_flex(shop, reward, code, expires, language):
    """A LINE Flex bubble for a coupon: the reward, the code large enough to read at a counter,
    its expiry. The message's text is its alt text."""
    until = ("ใช้ได้ถึง " if language == "th" else "valid until ") + expires if expires else ""
    display = f"{code[:4]}-{code[4:]}" if len(code) == 9 else code
    return {"type": "bubble",
            "header": {"type": "box", "layout": "vertical", "contents": [
                {"type": "text", "text": shop or " ", "size": "sm", "color": "#888888"}]},
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": [
                {"type": "text", "text": reward or " ", "weight": "bold", "size": "lg", "wrap": True},
                {"type": "text", "text": display, "size": "xxl", "weight": "bold", "align": "center"},
                {"type": "text", "text": until or " ", "size": "sm", "color": "#555555", "align": "center"}]}}
