"""`tierdesk doctor` checks notification channels offline, naming variables, never values."""

from __future__ import annotations

from dataclasses import replace

from connector.doctor.runner import run_doctor
from connector.domain.policy import NotificationChannel, Policy
from connector.secrets import EnvSecrets
from tests.unit.engine_helpers import make_policy


def channels_policy() -> Policy:
    return replace(
        make_policy(),
        channels={
            "chat": NotificationChannel(name="chat", url_env="CHAT_URL"),
            "mail": NotificationChannel(name="mail", url_env="MAIL_URL"),
            "hook": NotificationChannel(name="hook", url_env="HOOK_URL"),
        },
    )


def test_doctor_reports_unset_and_unusable_channel_variables_without_their_values():
    secrets = EnvSecrets({"CHAT_URL": "json://hooks.example/in", "MAIL_URL": "not-a-url-s3cret"})
    findings, _ = run_doctor(channels_policy(), secrets)
    shown = [str(f) for f in findings]

    assert shown == [
        "channel hook: HOOK_URL is not set -> export HOOK_URL with the channel's Apprise URL "
        "(e.g. slack://..., mailtos://...)",
        "channel mail: MAIL_URL does not hold a URL Apprise can use -> set it to an Apprise URL: "
        "https://github.com/caronc/apprise/wiki",
    ]
    assert not any("s3cret" in line for line in shown)
