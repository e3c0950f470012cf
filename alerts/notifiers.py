"""What each kind of channel is sent: Slack, PagerDuty Events v2, email and signed webhooks.

`send_notification` makes one attempt and reports its outcome; deciding whether to retry is the delivery
module's job. URLs are re-checked against the SSRF rules at send time, because the allow-list may have
changed since the channel was saved, and so is the address the host name resolves to (any name can point at
127.0.0.1): the request goes to that checked address, so DNS cannot answer differently at connect time.
Redirects are never followed.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail

from knoxcall.lib.targets import UnsafeTargetError, check_target_url, resolve_checked

from .models import AlertIncident, ChannelKind, NotificationChannel, NotificationEvent

PAGERDUTY_SEVERITY = {"info": "info", "warning": "warning", "high": "error", "critical": "critical"}


@dataclass(frozen=True)
class Message:
    """What happened, independent of the channel it goes to."""

    event: str
    title: str
    text: str
    severity: str
    dedup_key: str
    details: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, from the receiver's Retry-After header
    permanent: bool = False  # a configuration problem: retrying cannot help

    @property
    def retryable(self) -> bool:
        """429, 5xx and network errors may pass later; other 4xx and bad configuration will not."""
        if self.delivered or self.permanent:
            return False
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


def incident_message(incident: AlertIncident, event: str) -> Message:
    rule = incident.rule
    scope = f"{incident.environment_name}" + (f" / {incident.route.slug}" if incident.route else "")
    state = "RESOLVED" if event == NotificationEvent.RESOLVE else rule.get_severity_display().upper()
    title = f"[{state}] {rule.name} ({scope})"
    text = (
        f"{rule.get_type_display()}: observed {incident.observed_value:g}, threshold {rule.direction} "
        f"{incident.threshold:g} over {rule.window_minutes} min."
    )
    details = {
        "rule": rule.name,
        "environment": incident.environment_name,
        "route": incident.route.slug if incident.route else None,
        "type": rule.type,
        "observed_value": incident.observed_value,
        "threshold": incident.threshold,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }
    return Message(str(event), title, text, rule.severity, incident.dedup_key, details)


def channel_test_message(channel: NotificationChannel) -> Message:
    return Message(
        NotificationEvent.TEST.value,
        f"[TEST] KnoxCall test notification for {channel.name}",
        "If you can read this, the channel works.",
        "info",
        f"knoxcall-test-{channel.pk}",
        {"test": True},
    )


def send_notification(channel: NotificationChannel, message: Message) -> SendResult:
    try:
        if channel.kind == ChannelKind.EMAIL:
            return _send_email(channel, message)
        url, body, headers = _http_request(channel, message)
        check_target_url(url, settings.ALERTS_ALLOWED_HOSTS)
    except (UnsafeTargetError, KeyError, ValueError) as exc:
        return SendResult(delivered=False, error=f"Channel configuration: {exc}", permanent=True)
    return _post(url, body, headers)


def _http_request(channel: NotificationChannel, message: Message) -> tuple[str, bytes, dict[str, str]]:
    config = channel.config
    headers = {"Content-Type": "application/json", "User-Agent": "KnoxCall-Alerts"}
    if channel.kind == ChannelKind.SLACK:
        return config["webhook_url"], _json({"text": f"*{message.title}*\n{message.text}"}), headers
    if channel.kind == ChannelKind.PAGERDUTY:
        return settings.PAGERDUTY_EVENTS_URL, _json(_pagerduty_event(config["routing_key"], message)), headers
    if channel.kind == ChannelKind.WEBHOOK:
        body = _json(
            {
                "event": message.event,
                "title": message.title,
                "text": message.text,
                "severity": message.severity,
                "dedup_key": message.dedup_key,
                "details": message.details,
            }
        )
        headers["X-Webhook-Signature"] = webhook_signature(config.get("secret", ""), body)
        return config["url"], body, headers
    raise ValueError(f"unknown channel kind {channel.kind!r}")


def _pagerduty_event(routing_key: str, message: Message) -> dict[str, Any]:
    action = "resolve" if message.event == NotificationEvent.RESOLVE else "trigger"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": message.dedup_key,
    }
    if action == "trigger":
        event["payload"] = {
            "summary": f"{message.title}: {message.text}"[:1024],
            "source": "knoxcall",
            "severity": PAGERDUTY_SEVERITY.get(message.severity, "warning"),
            "custom_details": message.details,
        }
    return event


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), default=str).encode()


def _pinned(url: str, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL aimed at the host's checked address, with the Host header and TLS server name of the host.

    Raises UnsafeTargetError for an internal address the allow-list does not cover, OSError when the name
    does not resolve.
    """
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")
    address = resolve_checked(host, target.port or 0, settings.ALERTS_ALLOWED_HOSTS)
    headers = {**headers, "Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": host.rstrip(".")} if target.scheme == "https" else {}
    return target.copy_with(host=address), headers, extensions


def _post(url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    timeout = httpx.Timeout(settings.ALERTS_HTTP_TIMEOUT, connect=min(3.0, settings.ALERTS_HTTP_TIMEOUT))
    try:
        pinned, headers, extensions = _pinned(url, headers)
    except UnsafeTargetError as exc:
        return SendResult(delivered=False, error=f"Channel configuration: {exc}", permanent=True)
    except OSError as exc:  # the name did not resolve: perhaps a passing DNS failure, so retry
        return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(pinned, content=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
    if response.is_success:
        return SendResult(delivered=True, status_code=response.status_code)
    return SendResult(
        delivered=False,
        status_code=response.status_code,
        error=response.text[:500],
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; HTTP dates are rare from webhook receivers and are ignored."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _send_email(channel: NotificationChannel, message: Message) -> SendResult:
    addresses = [a for a in channel.config.get("addresses", []) if a]
    if not addresses:
        raise ValueError("no email addresses")
    try:
        send_mail(message.title, message.text, settings.ALERTS_FROM_EMAIL, addresses)
    except Exception as exc:  # SMTP failures come in many exception types; each one is a failed attempt.
        return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
    return SendResult(delivered=True)
