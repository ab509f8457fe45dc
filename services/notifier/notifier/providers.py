"""The channels' real clients: LINE through the official line-bot-sdk (Messaging API), SMS
through a Thai bulk-SMS provider's HTTP API (ThaiBulkSMS v2) or a shop's own webhook.

Each send answers an Outcome: sent (with the provider's id), retry (transient: 5xx,
timeout, 429 with its Retry-After) or permanent (invalid recipient, blocked, bad
credentials: no retry). Tokens and credentials are never logged.
"""
import base64
import dataclasses
import json

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    FlexContainer,
    FlexMessage,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    TextMessage,
)

HTTP = urllib3.PoolManager(num_pools=20, maxsize=20, retries=False, timeout=urllib3.Timeout(connect=3, read=10))


@dataclasses.dataclass
class Outcome:
    status: str  # sent | retry | permanent
    provider_id: str | None = None
    reason: str | None = None
    retry_after: float | None = None


def _retry_after(headers):
    try:
        return float((headers or {}).get("Retry-After") or 0) or None
    except (TypeError, ValueError):
        return None


LINE_TIMEOUT = (3, 10)  # connect, read: a stuck call must not stop the sender


def classify(status, body, headers=None):
    if not status:  # no HTTP answer (TLS, connection): transient
        return Outcome("retry", reason=f"no answer: {str(body)[:100]}")
    if status == 429:
        return Outcome("retry", reason="rate limited (429)", retry_after=_retry_after(headers))
    if status >= 500 or status == 408:
        return Outcome("retry", reason=f"provider error {status}")
    return Outcome("permanent", reason=f"refused {status}: {str(body)[:200]}")


class Line:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")

    def _api(self, token):
        return ApiClient(Configuration(host=self.base_url, access_token=token))

    def push(self, token, to, text, retry_key, flex=None):
        """One push (a Flex bubble with `text` as its alt text, or plain text); `retry_key` (the
        message id) makes LINE deliver a retried push once: a 409 for a key it already
        accepted means it was sent."""
        try:
            message = FlexMessage(alt_text=text[:400], contents=FlexContainer.from_dict(flex)) if flex \
                else TextMessage(text=text)
            with self._api(token) as client:
                answer = MessagingApi(client).push_message(
                    PushMessageRequest(to=to, messages=[message]), x_line_retry_key=retry_key,
                    _request_timeout=LINE_TIMEOUT)
            sent = answer.sent_messages[0].id if answer and answer.sent_messages else retry_key
            return Outcome("sent", provider_id=str(sent))
        except ApiException as exc:
            if exc.status == 409:
                return Outcome("sent", provider_id=retry_key, reason="accepted earlier (retry key)")
            return classify(exc.status, exc.body, exc.headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Outcome("retry", reason=f"unreachable: {type(exc).__name__}")

    def multicast(self, token, to, text, retry_key):
        """Up to 500 recipients in one request (campaign batches)."""
        try:
            with self._api(token) as client:
                MessagingApi(client).multicast_with_http_info(
                    MulticastRequest(to=to, messages=[TextMessage(text=text)]), x_line_retry_key=retry_key,
                    _request_timeout=LINE_TIMEOUT)
            return Outcome("sent", provider_id=retry_key)
        except ApiException as exc:
            if exc.status == 409:
                return Outcome("sent", provider_id=retry_key, reason="accepted earlier (retry key)")
            return classify(exc.status, exc.body, exc.headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Outcome("retry", reason=f"unreachable: {type(exc).__name__}")


class Sms:
    """ThaiBulkSMS v2 (POST {base}/sms, HTTP basic auth with the shop's API key and secret,
    form fields msisdn, message, sender; it answers 201 with `phone_number_list` [{number,
    message_id, used_credit}] and `bad_phone_number_list`) or a webhook (POST JSON {to, text, sender, message_id}
    to the shop's URL with its bearer token)."""

    def __init__(self, thaibulksms_url):
        self.thaibulksms_url = thaibulksms_url.rstrip("/")

    def send(self, provider, credentials, sender, phone, text, message_id):
        if provider not in ("thaibulksms", "webhook"):
            return Outcome("permanent", reason="the shop has no SMS provider any more")
        needed = ("api_key", "api_secret") if provider == "thaibulksms" else ("url",)
        if any(not credentials.get(key) for key in needed):
            return Outcome("permanent", reason="the shop's SMS credentials are incomplete")
        try:
            if provider == "thaibulksms":
                auth = base64.b64encode(f"{credentials['api_key']}:{credentials['api_secret']}".encode()).decode()
                reply = HTTP.request("POST", f"{self.thaibulksms_url}/sms", headers={"Authorization": f"Basic {auth}"},
                                     fields={"msisdn": phone.removeprefix("+"), "message": text,
                                             "sender": sender or ""},
                                     encode_multipart=False)
            else:
                headers = {"Content-Type": "application/json", "Idempotency-Key": message_id,
                           "Authorization": f"Bearer {credentials.get('token', '')}"}
                reply = HTTP.request("POST", credentials["url"], headers=headers, body=json.dumps(
                    {"to": phone, "text": text, "sender": sender, "message_id": message_id}))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Outcome("retry", reason=f"unreachable: {type(exc).__name__}")
        if 200 <= reply.status < 300:
            try:
                answer = json.loads(reply.data or b"{}")
            except ValueError:
                answer = None
            answer = answer if isinstance(answer, dict) else {}
            if provider == "thaibulksms":  # 2xx with the numbers it took and those it refused
                taken = answer.get("phone_number_list") or []
                refused = answer.get("bad_phone_number_list") or []
                if refused and not taken:
                    return Outcome("permanent", reason=f"invalid recipient: {str(refused[0])[:150]}")
                first = taken[0] if taken and isinstance(taken[0], dict) else {}
                return Outcome("sent", provider_id=str(first.get("message_id") or message_id))
            return Outcome("sent", provider_id=str(answer.get("id") or answer.get("message_id") or message_id))
        return classify(reply.status, reply.data[:200].decode(errors="replace"), reply.headers)
