"""What the emulated account checks in the values clients send: user, group and organization ids,
tags, custom field values, and a whole ticket update.

Zendesk validates a ticket update as a whole: when any part is invalid it answers 422
RecordInvalid listing every validation error, and nothing of the update is applied (ticket, tags,
fields, followers, audits, `updated_at`). `check_update` reads the whole request first and returns
a `CheckedUpdate` that `Account.update_ticket` applies only when no error was found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from plugins.zendesk.emulator.records import (
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    ApiError,
    TicketField,
    invalid,
    invalid_record,
    invalid_value,
    validation_entries,
)

if TYPE_CHECKING:
    from plugins.zendesk.emulator.store import Account

T = TypeVar("T")
AGENT_ROLES = ("agent", "admin")


def as_tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t for t in value.replace(",", " ").split() if t]
    if isinstance(value, Iterable):
        return [str(t).strip() for t in value if str(t).strip()]
    raise invalid(f"tags must be a list, not {type(value).__name__}")


def check_user(account: Account, user_id: Any, what: str) -> int:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise invalid_value(f"{what}: is invalid") from None
    if uid not in account.users:
        raise invalid_value(f"{what}: is invalid")
    return uid


def check_agent(account: Account, user_id: Any, what: str) -> int:
    """An existing agent or admin: only they can be assigned a ticket or follow one."""
    uid = check_user(account, user_id, what)
    if account.users[uid].role not in AGENT_ROLES:
        raise invalid_value(f"{what}: is invalid")
    return uid


def check_group(account: Account, group_id: Any) -> int | None:
    if group_id is None:
        return None
    try:
        gid = int(group_id)
    except (TypeError, ValueError):
        raise invalid_value("Group: is invalid") from None
    if gid not in account.groups:
        raise invalid_value("Group: is invalid")
    return gid


def check_organization(account: Account, org_id: Any) -> int | None:
    if org_id is None:
        return None
    try:
        oid = int(org_id)
    except (TypeError, ValueError):
        raise invalid_value("Organization: is invalid") from None
    if oid not in account.organizations:
        raise invalid_value("Organization: is invalid")
    return oid


def check_custom_field(account: Account, raw: Any) -> tuple[TicketField, Any] | None:
    """The field and the value Zendesk stores for one `custom_fields` entry; None when Zendesk
    ignores the entry (an unknown field id, an unknown dropdown value)."""
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise invalid("Custom fields: each entry needs an id")
    try:
        fid = int(raw["id"])
    except (TypeError, ValueError):
        raise invalid("Custom fields: id is invalid") from None
    tfield = account.fields.get(fid)
    if tfield is None:
        return None
    value = raw.get("value")
    rejected = invalid_value(
        f"{tfield.title}: is invalid",
        ticket_field_id=fid,
        ticket_field_type=f"Field{tfield.type.capitalize()}",
    )
    if tfield.type == "tagger":
        if value is not None and str(value) not in tfield.option_values():
            return None
        return tfield, value
    if tfield.type == "multiselect":
        values = value if isinstance(value, list) else ([] if value is None else [value])
        return tfield, [str(v) for v in values if str(v) in tfield.option_values()]
    if tfield.type == "date":
        return tfield, str(value)[:10] if value else value  # date fields keep the date only
    if tfield.type == "checkbox":
        return tfield, bool(value)
    if value is not None and not isinstance(value, str | int | float | bool):
        raise rejected
    if value is not None and tfield.type in ("integer", "decimal"):
        try:
            float(str(value)) if tfield.type == "decimal" else int(str(value))
        except ValueError:
            raise rejected from None
    return tfield, str(value) if value is not None else None


@dataclass
class CheckedUpdate:
    """A ticket update found valid, in the order Zendesk applies it."""

    comment_author: int
    scalars: list[tuple[str, Any]] = field(default_factory=list)  # ticket attribute -> new value
    replace_tags: list[str] | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    custom_fields: list[tuple[TicketField, Any]] = field(default_factory=list)
    followers: list[tuple[int, bool]] = field(default_factory=list)  # (user id, True = add)
    comment: Mapping[str, Any] | None = None  # a comment with a body
    custom_status_id: int | None = None  # sets `status` to the custom status's category


SCALARS = (
    "status",
    "priority",
    "type",
    "subject",
    "group_id",
    "assignee_id",
    "requester_id",
    "organization_id",
    "external_id",
)


def _one_of(label: str, value: Any, allowed: tuple[str, ...], *, nullable: bool) -> Any:
    if (value is None and nullable) or value in allowed:
        return value
    raise invalid_value(f"{label}: {value} is not valid")


def check_scalar(account: Account, name: str, value: Any) -> Any:
    """The value a ticket attribute of `SCALARS` takes from an update."""
    if name == "status":
        return _one_of("Status", value, STATUSES, nullable=False)
    if name == "priority":
        return _one_of("Priority", value, PRIORITIES, nullable=True)
    if name == "type":
        return _one_of("Type", value, TICKET_TYPES, nullable=True)
    if name == "subject":
        return str(value)
    if name == "group_id":
        return check_group(account, value)
    if name == "assignee_id":
        return None if value is None else check_agent(account, value, "Assignee")
    if name == "requester_id":
        return check_user(account, value, "Requester")
    if name == "organization_id":
        return check_organization(account, value)
    return value


def check_update(account: Account, raw: Mapping[str, Any], author_id: int) -> CheckedUpdate:
    """Validate every part of a ticket update; raises one 422 naming all invalid parts."""
    errors: list[dict[str, Any]] = []

    def attempt(check: Callable[..., T], *args: Any) -> tuple[bool, T | None]:
        try:
            return True, check(*args)
        except ApiError as exc:
            errors.extend(validation_entries(exc) or [{"description": str(exc.body.get("description"))}])
            return False, None

    checked = CheckedUpdate(comment_author=author_id)
    for name in SCALARS:
        if name in raw and (name != "subject" or raw[name]):
            ok, value = attempt(check_scalar, account, name, raw[name])
            if ok:
                checked.scalars.append((name, value))
    if raw.get("custom_status_id") is not None:
        ok, custom = attempt(account.custom_statuses.get, raw["custom_status_id"])
        if ok and custom is not None:
            checked.custom_status_id = custom.id
    if "tags" in raw:
        checked.replace_tags = attempt(as_tag_list, raw["tags"])[1]
    checked.add_tags = attempt(as_tag_list, raw.get("additional_tags"))[1] or []
    checked.remove_tags = attempt(as_tag_list, raw.get("remove_tags"))[1] or []
    for entry in raw.get("custom_fields") or []:
        found = attempt(check_custom_field, account, entry)[1]
        if found is not None:
            checked.custom_fields.append(found)
    for follower in raw.get("followers") or []:
        user_id = follower.get("user_id") if isinstance(follower, Mapping) else None
        ok, uid = attempt(check_agent, account, user_id, "Follower")
        if ok and uid is not None:
            checked.followers.append((uid, follower.get("action", "put") != "delete"))
    comment = raw.get("comment")
    if isinstance(comment, Mapping) and (comment.get("body") or comment.get("html_body")):
        checked.comment = comment
        if comment.get("author_id") is not None:
            ok, author = attempt(check_user, account, comment["author_id"], "Author")
            if ok and author is not None:
                checked.comment_author = author
    if errors:
        raise invalid_record(errors)
    return checked
