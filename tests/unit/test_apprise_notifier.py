"""The Apprise adapter's contract without a receiver: URLs per message, configuration errors."""

from __future__ import annotations

from connector.domain.policy import ActionKind, NotificationChannel
from connector.domain.results import Action
from connector.notify.apprise_notifier import AppriseNotifier, channel_url
from connector.ports import Outcome
from connector.secrets import EnvSecrets


def notify(channel: str = "oncall", to: tuple[str, ...] = ()) -> Action:
    return Action(
        key="k" * 32,
        connection="zd",
        ticket_id="42",
        kind=ActionKind.NOTIFY,
        value="first response breach",
        values=to,
        field=channel,
    )


def notifier(env: dict[str, str], **channel: object) -> AppriseNotifier:
    channels = {"oncall": NotificationChannel(name="oncall", url_env="ONCALL_URL", **channel)}  # type: ignore[arg-type]
    return AppriseNotifier(lambda: channels, EnvSecrets(env))


def test_email_recipients_go_into_the_mailto_url():
    url = channel_url(
        "mailto://bot:pw@mail.example?from=td@example.com", notify(to=("a@example.com", "b@example.com"))
    )
    assert url == "mailto://bot:pw@mail.example?from=td@example.com&to=a@example.com,b@example.com"


def test_generic_webhooks_carry_the_idempotency_key_as_a_header():
    url = channel_url("json://hooks.example/in", notify())
    assert url == "json://hooks.example/in?+X-Tierdesk-Key=" + "k" * 32


def test_chat_recipients_become_targets_of_the_url():
    assert channel_url("slack://T1/B2/C3", notify(to=("#sla",))) == "slack://T1/B2/C3/#sla"


def test_a_channel_whose_variable_is_unset_waits_and_names_the_variable():
    [result] = notifier({}).send([notify()])
    assert result.outcome is Outcome.RETRY
    assert result.not_sent
    assert "set ONCALL_URL" in result.message


def test_a_variable_that_is_no_apprise_url_fails_without_echoing_it():
    [result] = notifier({"ONCALL_URL": "nonsense-s3cret"}).send([notify()])
    assert result.outcome is Outcome.FAILED
    assert "nonsense-s3cret" not in result.message


def test_a_channel_removed_from_the_mappings_fails_the_notification():
    [result] = notifier({}).send([notify(channel="gone")])
    assert result.outcome is Outcome.FAILED
    assert "'gone'" in result.message


def test_an_uncertain_send_is_not_repeated_on_an_at_most_once_channel():
    action = notify()
    [result] = notifier({"ONCALL_URL": "json://127.0.0.1:9/x"}).send(
        [action], uncertain=frozenset({action.key})
    )
    assert result.outcome is Outcome.FAILED
    assert "not resent" in result.message


def test_tokens_and_passwords_of_a_channel_url_are_scrubbed_from_what_tierdesk_prints():
    from connector.redaction import forget_all, scrub

    notifier({"ONCALL_URL": "mailto://bot:Pa55word77@127.0.0.1:9/?from=td@example.com"}).send([notify()])
    notifier({"ONCALL_URL": "json://127.0.0.1:9/hooks/T0PSECRET42hook"}).send([notify()])
    try:
        assert scrub("login Pa55word77 failed") == "login *** failed"
        assert scrub("POST http://127.0.0.1:9/hooks/T0PSECRET42hook") == "POST http://127.0.0.1:9/hooks/***"
        assert scrub("from td@example.com") == "from td@example.com"
    finally:
        forget_all()
