"""Notification channels (`channels:`, e.g. in `notifications.yaml`) and the checks that tie the
escalation levels' `notify:` actions to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connector.domain.policy import NotificationChannel
from connector.mappings.connection_models import ChannelModel
from connector.mappings.tier_models import ChainModel

Loc = tuple[str | int, ...]


def check_channels(
    raw: Mapping[str, Any] | None, model: Callable[[type[ChannelModel], Any, Loc], ChannelModel | None]
) -> dict[str, ChannelModel]:
    """The valid channels of the section (`model` validates one entry and reports its errors)."""
    channels: dict[str, ChannelModel] = {}
    for name, entry in (raw or {}).items():
        checked = model(ChannelModel, entry, ("channels", name))
        if checked is not None:
            channels[name] = checked
    return channels


def notify_references(chains: Mapping[str, ChainModel]) -> list[tuple[Loc, str]]:
    """Where each `notify:` names a channel: (location of `channel`, the name)."""
    found: list[tuple[Loc, str]] = []
    for chain_name, chain in chains.items():
        for level_index, level in enumerate(chain.levels):
            for action_index, action in enumerate(level.actions):
                if action.notify is not None:
                    loc: Loc = (
                        "escalations",
                        chain_name,
                        "levels",
                        level_index,
                        "actions",
                        action_index,
                        "notify",
                        "channel",
                    )
                    found.append((loc, action.notify.channel))
    return found


def repeated_notifications(chains: Mapping[str, ChainModel]) -> list[tuple[Loc, str]]:
    """Where a level notifies the same channel and recipients a second time (the two would share
    one idempotency key): (location, message)."""
    found: list[tuple[Loc, str]] = []
    for chain_name, chain in chains.items():
        for level_index, level in enumerate(chain.levels):
            seen: dict[tuple[str, tuple[str, ...]], int] = {}
            for action_index, action in enumerate(level.actions):
                if action.notify is None:
                    continue
                target = (action.notify.channel, tuple(action.notify.to or ()))
                if target in seen:
                    loc: Loc = (
                        "escalations",
                        chain_name,
                        "levels",
                        level_index,
                        "actions",
                        action_index,
                        "notify",
                    )
                    found.append(
                        (
                            loc,
                            f"this level already notifies '{target[0]}' with the same recipients "
                            f"(action {seen[target] + 1}); merge the two",
                        )
                    )
                seen.setdefault(target, action_index)
    return found


def build_channels(channels: Mapping[str, ChannelModel]) -> dict[str, NotificationChannel]:
    return {
        name: NotificationChannel(
            name=name,
            url_env=model.url_env,
            include_notes=model.include_notes,
            on_uncertain=model.on_uncertain,
        )
        for name, model in channels.items()
    }
