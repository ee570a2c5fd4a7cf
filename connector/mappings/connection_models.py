"""Mapping models of writing back, helpdesk connections and notification channels."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from connector.domain.model import Priority, Status
from connector.mappings.field_types import Duration, EnvName, Name, StrictModel

# -------------------------------------------------------------------------- writeback, connections

WritebackField = Literal["tier", "sla_due", "sla_state"]
_WRITEBACK_FIELDS: tuple[WritebackField, ...] = ("tier", "sla_due", "sla_state")


class WritebackModel(StrictModel):
    tag_prefix: str = Field(default="", description="prefix for tier_/sev_/sla_ tags")
    priority_from_severity: dict[str, Priority] = Field(default_factory=dict)
    priority_mode: Literal["raise_only", "enforce"] = "raise_only"
    fields: list[WritebackField] = Field(default_factory=lambda: list(_WRITEBACK_FIELDS))
    notes: bool = True

    @field_validator("tag_prefix")
    @classmethod
    def _tag_safe(cls, value: str) -> str:
        if value and not re.match(r"^[a-z0-9][a-z0-9_-]*$", value):
            raise ValueError("tag_prefix may hold lower-case letters, digits, '-' and '_' only")
        return value


class FieldByName(StrictModel):
    """A field named as the helpdesk shows it (e.g. `{name: "Customer tier"}`); tierdesk looks up
    its id when the worker or a sync starts."""

    name: str = Field(min_length=1, description="the field's title in Zendesk / name in Jira")


class GroupByName(StrictModel):
    """A group named as the helpdesk shows it (e.g. `{group: "Duty managers"}`), looked up at start."""

    group: str = Field(min_length=1, description="the group's name")


class UserByName(StrictModel):
    """A person named by e-mail address or display name (e.g. `{user: "sla-watcher@example.com"}`),
    looked up at start."""

    user: str = Field(min_length=1, description="the agent's e-mail address or name")


def _field_reference(value: Any) -> Any:
    if isinstance(value, dict) and set(value) != {"name"}:
        keys = ", ".join(sorted(str(key) for key in value))
        raise ValueError(
            f'write the field\'s id, or its name as {{name: "Customer tier"}} (not {{{keys}: ...}})'
        )
    return value


def _alias_reference(value: Any) -> Any:
    if isinstance(value, dict) and set(value) not in ({"group"}, {"user"}):
        keys = ", ".join(sorted(str(key) for key in value))
        raise ValueError(
            'write an id, {group: "Duty managers"} or {user: "watcher@example.com"} '
            f"(not {{{keys}: ...}})"
        )
    return value


FieldReference = Annotated[str | FieldByName, BeforeValidator(_field_reference)]
AliasReference = Annotated[str | GroupByName | UserByName, BeforeValidator(_alias_reference)]


class ConnectionModel(StrictModel):
    name: Name
    kind: Literal["zendesk", "jira"]
    url: str = Field(description="the helpdesk's base URL, e.g. https://example.zendesk.com")
    email_env: EnvName | None = Field(default=None, description="env variable holding the API user's e-mail")
    token_env: EnvName | None = Field(default=None, description="env variable holding the API token")
    fields: dict[str, FieldReference] = Field(
        default_factory=dict,
        description="logical field name -> helpdesk field id, or {name: <the field's name>}",
    )
    status_map: dict[str, Status] = Field(
        default_factory=dict,
        description="helpdesk status -> what it counts as; a Jira status name, a Zendesk status, or a "
        "Zendesk custom status by agent label or id",
    )
    priority_map: dict[str, Priority] = Field(
        default_factory=dict, description="helpdesk priority -> canonical"
    )
    projects: list[str] = Field(
        default_factory=list, validate_default=True, description="Jira project keys to sync"
    )
    aliases: dict[str, AliasReference] = Field(
        default_factory=dict,
        description="names used by escalation actions (groups, assignees, followers) -> this helpdesk's id, "
        "{group: <name>} or {user: <e-mail or name>}; '-' skips that action on this connection",
    )
    pull_interval: Duration = Field(default=timedelta(seconds=60))
    options: dict[str, str] = Field(default_factory=dict)
    webhook_secret_env: EnvName | None = Field(
        default=None,
        description="env variable holding the webhook signing secret; set it to accept signed webhooks",
    )
    webhook_path: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9._~/-]*$",
        description="path the worker's webhook port serves this connection on (default /webhooks/<name>)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        match = re.match(r"^(https?)://([^/\s?#]+)(\S*)$", value.strip())
        if match is None:
            raise ValueError("url must be an http(s) URL, e.g. https://example.zendesk.com")
        if "@" in match.group(2):
            raise ValueError(
                "the url holds credentials; remove them and name environment variables with "
                "email_env / token_env"
            )
        if re.search(r"[?&](token|key|password|secret)", match.group(3), re.IGNORECASE):
            raise ValueError(
                "the url holds a secret in its query; name an environment variable with token_env"
            )
        return value.strip().rstrip("/")

    @field_validator("options")
    @classmethod
    def _no_secret_options(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if re.search(r"token|password|secret|api_?key", key, re.IGNORECASE):
                raise ValueError(
                    f"option '{key}' looks like a credential; never write credentials in mappings: "
                    "name an environment variable with token_env instead"
                )
        return value

    @field_validator("pull_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("pull_interval must be at least 10s (helpdesk APIs rate-limit)")
        return value

    @field_validator("projects")
    @classmethod
    def _projects_for_jira(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # A field validator, not a model one: it runs (and reports) even when another key is bad.
        kind = info.data.get("kind")
        if kind == "jira" and not value:
            raise ValueError("a jira connection needs projects: the Jira project keys to sync, e.g. [SUP]")
        if kind == "zendesk" and value:
            raise ValueError("projects are Jira project keys; for Zendesk use brand conditions in rules")
        return value


# ------------------------------------------------------------------------------- notifications


class ChannelModel(StrictModel):
    """A notification channel: an Apprise URL (slack://, msteams://, mailto://, json://, ...) read
    from the environment variable `url_env` when a notification is sent; never the URL itself."""

    url_env: EnvName
    include_notes: bool = Field(
        default=False, description="send the level's internal note text too (off: it stays in the helpdesk)"
    )
    on_uncertain: Literal["skip", "resend"] = Field(
        default="skip",
        description="after a crash mid-send: skip (at most once, chat) or resend (at least once, "
        "for receivers that drop repeats of the X-Tierdesk-Key header)",
    )
