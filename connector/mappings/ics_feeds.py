"""Holiday feeds named by calendars (`holidays: {ics: ...}`): read a file or fetch a URL, keep the
last good copy, and turn the feed into closed days (`connector.domain.ics_holidays`).

A URL is fetched each time the mappings are loaded or reloaded, with a timeout. A feed that cannot
be fetched falls back to the last good copy (kept in memory and under the cache directory, so a
restart during an outage still has it) and says so once, until a fetch succeeds again; with no
copy at all it is a mappings error. The text used is recorded with the policy version
(`FEED_PREFIX` entries beside the YAML files), so a stored version is rebuilt from the feed it ran
with, never from what the URL serves later.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Protocol

import requests
import structlog

from connector.domain.ics_holidays import IcsFeedError, IcsHolidays, holidays_from_ics
from connector.mappings.errors import Anchor, Loc
from connector.mappings.values import parse_duration

log = structlog.get_logger("tierdesk.mappings")

FEED_PREFIX: Final = "ics-feed:"  # key of a feed's text among the files of a policy version
FETCH_TIMEOUT_SECONDS: Final = 10.0
DEFAULT_REFRESH: Final = timedelta(hours=24)  # a running worker fetches a URL feed again this often
_MAX_FEED_BYTES: Final = 5_000_000  # a holiday feed is a few kB; refuse to read a runaway download

_last_good: dict[str, str] = {}
_failing: set[str] = set()
_lock = threading.Lock()


def cache_directory() -> Path:
    """Where fetched feeds are kept: `$TIERDESK_CACHE_DIR/ics`, default `~/.cache/tierdesk/ics`."""
    base = os.environ.get("TIERDESK_CACHE_DIR") or str(Path.home() / ".cache" / "tierdesk")
    return Path(base) / "ics"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass(slots=True)
class FeedReader:
    """Reads the feeds of one load. `recorded` are feed texts kept with a stored policy version
    (used instead of reading); `used` collects every text read, to be kept with this version."""

    directory: Path
    recorded: Mapping[str, str] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)
    refresh: dict[str, timedelta] = field(default_factory=dict)  # URL -> how often to fetch it again

    def holidays(self, source: str) -> IcsHolidays:
        """The closed days of the feed; raises `ValueError` with a message ending in the fix."""
        text = self.recorded.get(source)
        if text is None:
            text = _fetch(source) if is_url(source) else self._read_file(source)
        try:
            found = holidays_from_ics(text)
        except IcsFeedError as error:
            raise ValueError(
                f"holiday feed {source}: {error} -> point ics at an .ics file or feed"
            ) from error
        self.used[source] = text
        return found

    def _read_file(self, source: str) -> str:
        path = Path(source)
        if not path.is_absolute():
            path = self.directory / path
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ValueError(
                f"cannot read holiday feed {path}: {reason} -> give a path relative to the mappings "
                "directory or an http(s) URL"
            ) from error


class _Reports(Protocol):
    feeds: FeedReader

    def report(self, loc: Loc, message: str, anchor: Anchor = "value") -> None: ...


def with_feed_dates(spec: dict[str, Any], loc: Loc, run: _Reports) -> dict[str, Any]:
    """A calendar `spec` with the closed days of its `holidays.ics` feeds added to
    `holidays.dates` (the domain's calendar does no I/O); a feed that cannot be read is reported
    at its line."""
    holidays = spec.get("holidays")
    if not isinstance(holidays, dict) or holidays.get("ics") is None:
        return spec
    listed = isinstance(holidays["ics"], list)
    sources = holidays["ics"] if listed else [holidays["ics"]]
    dates = list(holidays.get("dates") or [])
    for index, entry in enumerate(sources):
        where: Loc = (*loc, "holidays", "ics", index) if listed else (*loc, "holidays", "ics")
        source = str(entry["url"] if isinstance(entry, dict) else entry).strip()
        if is_url(source):
            every = entry.get("refresh") if isinstance(entry, dict) else None
            # the model checked the duration; the shortest wins when calendars share a feed
            interval = DEFAULT_REFRESH if every is None else parse_duration(every)
            run.feeds.refresh[source] = min(interval, run.feeds.refresh.get(source, interval))
        try:
            dates += sorted(run.feeds.holidays(source).dates)
        except ValueError as error:
            run.report(where, str(error))
    rest = {key: value for key, value in holidays.items() if key != "ics"}
    return {**spec, "holidays": {**rest, **({"dates": dates} if dates else {})}}


def recorded_feeds(files: Mapping[str, str]) -> dict[str, str]:
    """The feed texts among the files of a stored policy version, by source."""
    return {name[len(FEED_PREFIX) :]: text for name, text in files.items() if name.startswith(FEED_PREFIX)}


def feed_files(used: Mapping[str, str]) -> dict[str, str]:
    """Feed texts as entries to keep beside the YAML files of a policy version."""
    return {f"{FEED_PREFIX}{source}": text for source, text in used.items()}


def _fetch(url: str) -> str:
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        if len(response.content) > _MAX_FEED_BYTES:
            raise requests.RequestException(f"the feed is larger than {_MAX_FEED_BYTES} bytes")
        text = response.content.decode("utf-8")
    except (requests.RequestException, UnicodeDecodeError) as error:
        return _fallback(url, _reason(error))
    with _lock:
        _last_good[url] = text
        recovered = url in _failing
        _failing.discard(url)
    if recovered:
        log.info("holiday feed fetched again", url=url)
    _store_copy(url, text)
    return text


def _fallback(url: str, reason: str) -> str:
    with _lock:
        text = _last_good.get(url)
        first_failure = url not in _failing
        _failing.add(url)
    if text is None:
        text = _load_copy(url)
    if text is None:
        raise ValueError(
            f"cannot fetch holiday feed {url}: {reason} -> check the URL, or save the feed as a file "
            "in the mappings directory and name that file"
        )
    if first_failure:
        log.warning("holiday feed not fetched; using the last good copy", url=url, reason=reason)
    return text


def _reason(error: Exception) -> str:
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return f"no answer within {FETCH_TIMEOUT_SECONDS:g} s"
    return type(error).__name__ if not str(error) else str(error).splitlines()[0][:200]


def _copy_path(url: str) -> Path:
    return cache_directory() / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.ics"


def _store_copy(url: str, text: str) -> None:
    path = _copy_path(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # atomic: a crash never leaves half a feed as the last good copy
    except OSError as error:
        log.warning("holiday feed copy not kept", url=url, reason=str(error))


def _load_copy(url: str) -> str | None:
    try:
        text = _copy_path(url).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    with _lock:
        _last_good.setdefault(url, text)
    return text
