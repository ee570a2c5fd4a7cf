"""`tierdesk doctor` on notification channels: each channel's variable is set and holds a URL
Apprise can use (parsed offline: nothing is sent). Findings name the variable, never its value."""

from __future__ import annotations

import apprise

from connector.doctor.findings import Finding
from connector.domain.policy import Policy
from connector.ports import SecretSource


def check_channels(policy: Policy, secrets: SecretSource) -> list[Finding]:
    findings: list[Finding] = []
    for name, channel in sorted(policy.channels.items()):
        where = f"channel {name}"
        url = secrets.get(channel.url_env)
        if not url:
            findings.append(
                Finding(
                    where,
                    f"{channel.url_env} is not set",
                    f"export {channel.url_env} with the channel's Apprise URL (e.g. slack://..., mailtos://...)",
                )
            )
        elif not apprise.Apprise().add(url):
            findings.append(
                Finding(
                    where,
                    f"{channel.url_env} does not hold a URL Apprise can use",
                    "set it to an Apprise URL: https://github.com/caronc/apprise/wiki",
                )
            )
    return findings
