"""`GET /rest/api/3/project/search`: the paginated project search of Jira Cloud.

Answers the `PageBeanProject` shape (`self`, `nextPage`, `maxResults`, `startAt`, `total`, `isLast`,
`values`), filtered by `keys`, `id`, `query` (key or name contains, case-insensitive) and
`typeKey`, ordered by `orderBy` (`key` by default, `name`; `-` reverses). `maxResults` defaults to
50 and is at most 100.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from plugins.jira.emulator.model import Project

DEFAULT_PAGE = 50
MAX_PAGE = 100
ORDERS: dict[str, Callable[[Project], Any]] = {
    "key": lambda p: p.key,
    "name": lambda p: p.name.lower(),
}


class BadArgument(ValueError):
    """A parameter Jira would refuse with 400; the message is the one to show."""


def _int(args: MultiDict[str, str], name: str, default: int) -> int:
    try:
        return max(0, int(args.get(name, default)))
    except ValueError:
        raise BadArgument(f"The value of '{name}' must be a number.") from None


def _matches(project: Project, args: MultiDict[str, str]) -> bool:
    keys = {k for value in args.getlist("keys") for k in value.split(",") if k}
    ids = {i for value in args.getlist("id") for i in value.split(",") if i}
    query = (args.get("query") or "").lower()
    type_key = args.get("typeKey")
    return (
        (not keys or project.key in keys)
        and (not ids or str(project.id) in ids)
        and (not query or query in project.key.lower() or query in project.name.lower())
        and (not type_key or project.type_key in type_key.split(","))
    )


def search_page(
    projects: list[Project], args: MultiDict[str, str], url: str, render: Callable[[Project], dict[str, Any]]
) -> dict[str, Any]:
    """One page of the projects matching `args`; `url` is the endpoint's absolute URL."""
    start = _int(args, "startAt", 0)
    size = min(_int(args, "maxResults", DEFAULT_PAGE), MAX_PAGE)
    order = args.get("orderBy") or "key"
    field = order.lstrip("+-")
    if field not in ORDERS:
        raise BadArgument(f"The value '{order}' of 'orderBy' is not supported here.")
    found = sorted(
        (p for p in projects if _matches(p, args)), key=ORDERS[field], reverse=order.startswith("-")
    )
    page = found[start : start + size]
    is_last = start + len(page) >= len(found)
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("startAt", "maxResults")]

    def link(at: int) -> str:
        return f"{url}?{urlencode([*kept, ('startAt', str(at)), ('maxResults', str(size))])}"

    body: dict[str, Any] = {
        "self": link(start),
        "maxResults": size,
        "startAt": start,
        "total": len(found),
        "isLast": is_last,
        "values": [render(p) for p in page],
    }
    if not is_last:
        body["nextPage"] = link(start + size)
    return body
