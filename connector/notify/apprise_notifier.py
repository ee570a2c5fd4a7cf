"""The `Notifier` port over Apprise: one library for Slack, Microsoft Teams, e-mail, PagerDuty and
generic webhooks. A channel's Apprise URL comes from its environment variable when a message is
sent; nothing here logs, stores or returns it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

import apprise

from connector.domain.policy import NotificationChannel
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome, SecretSource
from connector.redaction import register_credentials

_MAIL_SCHEMES = frozenset({"mailto", "mailtos"})
# Apprise's generic webhooks take extra request headers as `+Name=value` URL arguments
_HEADER_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
KEY_HEADER = "X-Tierdesk-Key"


def channel_url(url: str, action: Action) -> str:
    """The channel's URL for one message: e-mail recipients as `to=`; generic webhooks get the
    idempotency key (and recipients) as headers; other services take recipients as targets
    (path segments, e.g. `#channel` or `@user` for Slack)."""
    scheme = urlsplit(url).scheme.lower()
    recipients = action.values
    extra: list[str] = []
    if scheme in _MAIL_SCHEMES:
        if recipients:
            extra.append("to=" + quote(",".join(recipients), safe="@,"))
    elif scheme in _HEADER_SCHEMES:
        extra.append(f"+{KEY_HEADER}={action.key}")
        if recipients:
            extra.append("+X-Tierdesk-To=" + quote(",".join(recipients), safe="@,#"))
    elif recipients:
        base, sep, query = url.partition("?")
        url = base.rstrip("/") + "/" + "/".join(quote(r, safe="@#") for r in recipients) + sep + query
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def secret_parts(url: str) -> list[str]:
    """The parts of an Apprise URL that may be credentials: the whole URL, the password, and the
    user name, path segments and query values of 8 characters or more (webhook tokens, keys)."""
    parts = urlsplit(url)
    found = [url]
    if parts.password:
        found.append(parts.password)
    found += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    for pair in parts.query.split("&"):
        value = pair.partition("=")[2]
        if len(value) >= 8 and "@" not in value:
            found.append(value)
    if parts.username and len(parts.username) >= 8:
        found.append(parts.username)  # e.g. pagerduty://{integration_key}@{api_key}
    return found


def title_of(action: Action) -> str:
    return f"tierdesk: ticket {action.ticket_id}: {action.reason}" if action.reason else "tierdesk"


class AppriseNotifier:
    """Sends each NOTIFY action through its channel (see `connector.ports.Notifier`)."""

    def __init__(
        self,
        channels: Callable[[], Mapping[str, NotificationChannel]],
        secrets: SecretSource,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._channels = channels  # read per send: a mappings reload may add or change channels
        self._secrets = secrets
        self._timeout = timeout

    def send(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        channels = self._channels()
        return [self._one(action, channels, action.key in uncertain) for action in actions]

    def _one(
        self, action: Action, channels: Mapping[str, NotificationChannel], uncertain: bool
    ) -> ActionResult:
        name = action.field or ""
        channel = channels.get(name)
        if channel is None:
            return ActionResult(
                action.key, Outcome.FAILED, f"notification channel '{name}' is no longer in the mappings"
            )
        if uncertain and channel.on_uncertain == "skip":
            return ActionResult(
                action.key,
                Outcome.FAILED,
                f"an earlier send to '{name}' was interrupted and may have arrived; not resent: the channel "
                "delivers at most once (set on_uncertain: resend for at least once)",
            )
        url = self._secrets.get(channel.url_env)
        if not url:
            return ActionResult(
                action.key,
                Outcome.RETRY,
                f"set {channel.url_env} to the Apprise URL of channel '{name}'; the notification waits",
                not_sent=True,
            )
        for part in secret_parts(url):  # whatever Apprise or a receiver echoes is scrubbed
            register_credentials(None, part)
        notifier = apprise.Apprise()
        if not notifier.add(channel_url(url, action)):
            return ActionResult(
                action.key,
                Outcome.FAILED,
                f"{channel.url_env} is not an Apprise URL Apprise can use (channel '{name}'); fix the variable",
            )
        refused = _Refusals()
        delivered = notifier.notify(
            body=action.value or "",
            title=title_of(action),
            timeout=self._timeout,
            log_callback=refused.record,
            log_level=logging.WARNING,
        )
        if delivered:
            return ActionResult(action.key, Outcome.APPLIED)
        return ActionResult(
            action.key,
            Outcome.RETRY,
            f"channel '{name}' did not take the notification"
            + (" (the receiver answered with an error)" if refused.answered else " (no answer)"),
            not_sent=refused.answered,
        )


class _Refusals:
    """Whether Apprise's warnings say the message did not get through: the receiver answered with
    an error status, or the connection could not be made. Only a send that timed out waiting for
    an answer may have landed."""

    def __init__(self) -> None:
        self.answered = False

    def record(self, entry: object, _service: object = None) -> None:
        text = str(getattr(entry, "message", entry)).lower()
        if "timed out" in text or "timeout" in text:
            return
        if "error=" in text or "connection error" in text or "smtp" in text:
            self.answered = True
