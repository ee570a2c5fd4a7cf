"""How the sync hands NOTIFY outbox actions to the notifier."""

from __future__ import annotations

from collections.abc import Sequence

from connector.domain.results import Action
from connector.ports import ActionResult, Notifier, Outcome


def send_notifications(
    notifier: Notifier | None, actions: Sequence[Action], uncertain: frozenset[str]
) -> list[ActionResult]:
    """The notifier's results, or FAILED for each action when this process has no notifier."""
    if notifier is None:
        message = "this process sends no notifications (no notifier configured); nothing was sent"
        return [ActionResult(action.key, Outcome.FAILED, message) for action in actions]
    return notifier.send(actions, uncertain)
