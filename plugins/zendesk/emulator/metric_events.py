"""The ticket metric events export in its cursor-paginated form.

`GET /api/v2/incremental/ticket_metric_events?start_time=T` answers in two shapes, as Zendesk does:
with `page[size]` or `page[after]` it paginates by cursor (at most 100 events a page, the
`meta.has_more`, `meta.after_cursor`, `links.next` of every cursor-paginated endpoint); without,
it is the time-based export (`count`, `end_time`, `next_page`, `end_of_stream`). Events are in
chronological order (time, then id) in both; the most recent minute is left out of both.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from plugins.zendesk.emulator.records import ApiError, MetricEvent
from plugins.zendesk.emulator.store import Account

CURSOR_PAGE_MAX = 100


def wants_cursor(args: Mapping[str, str]) -> bool:
    return "page[size]" in args or "page[after]" in args


def page_size(args: Mapping[str, str]) -> int:
    raw = args.get("page[size]") or str(CURSOR_PAGE_MAX)
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(
            400, {"error": "InvalidPaginationParameter", "description": "page[size] is invalid"}
        ) from None
    return max(1, min(size, CURSOR_PAGE_MAX))


def cursor_page(
    account: Account, start_time: int, cutoff: int, size: int, after: tuple[int, int] | None
) -> tuple[list[MetricEvent], bool]:
    """Up to `size` events with `start_time <= time <= cutoff` after the `after` position (time, id)."""
    with account.lock:
        keys = account.metric_index.keys
        first = bisect.bisect_left(keys, (start_time, -1))
        if after is not None:
            first = max(first, bisect.bisect_right(keys, after))
        end = account.metric_index.upto((cutoff, 2**62))
        chosen = keys[first : min(first + size, end)]
        return [account.metric_events[k[1]] for k in chosen], first + size < end


def cursor_body(
    *,
    url: str,
    args: Mapping[str, str],
    events: list[MetricEvent],
    more: bool,
    size: int,
    encode: Callable[[int, int], str],
    render: Callable[[MetricEvent], dict[str, Any]],
) -> dict[str, Any]:
    """The response body; the links keep the request's other parameters (`start_time` included)."""
    after_cursor = encode(events[-1].time, events[-1].id) if events else None
    before_cursor = encode(events[0].time, events[0].id) if events else None
    kept = {k: v for k, v in args.items() if not k.startswith("page[")}

    def link(name: str, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        query = {**kept, f"page[{name}]": cursor, "page[size]": str(size)}
        return f"{url}?{urlencode(sorted(query.items()), quote_via=quote)}"

    return {
        "ticket_metric_events": [render(e) for e in events],
        "meta": {"has_more": more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        # as recorded: `links.next` is there on the last page too; `meta.has_more` says whether to follow
        "links": {"prev": link("before", before_cursor), "next": link("after", after_cursor)},
    }
