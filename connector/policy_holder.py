"""The running policy: loaded from the mappings directory, reloaded when files change or a holiday
feed URL is due to be fetched again, and kept at the last good version when an edit is invalid
(the worker never runs on a broken configuration)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from connector.domain.policy import Policy
from connector.mappings import MappingsInvalid, load_policy_files
from connector.mappings.ics_feeds import recorded_feeds
from connector.retry import HelpdeskError

log = structlog.get_logger("tierdesk.policy")


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of each configuration file (checked every cycle: one
    directory scan, whose entries carry their own stat, instead of two globs and three stats a
    file). Holiday feeds kept beside the YAML files (`holidays.ics`) are part of the configuration too."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if (
                    entry.name.endswith((".yaml", ".ics"))
                    and not entry.name.startswith(".")
                    and entry.is_file()
                ):
                    stat = entry.stat()
                    found.append((entry.name, stat.st_mtime_ns, stat.st_size))
    except OSError:  # the directory (or a file) went away mid-deploy: a change, which the reload reports
        return ()
    return tuple(sorted(found))


Resolve = Callable[[Policy], Policy]


def _as_given(policy: Policy) -> Policy:
    return policy


def _system_now() -> datetime:
    return datetime.now(UTC)


class PolicyHolder:
    def __init__(
        self, directory: Path, resolve: Resolve = _as_given, now: Callable[[], datetime] = _system_now
    ) -> None:
        """Load the mappings; raises `MappingsInvalid` (with every error) if they are not valid.

        `resolve` turns the loaded policy into the one that runs (fields, groups and people named
        in the mappings become ids, `connector.mappings.references`); it runs at every load.
        `now` tells when holiday feed URLs are due to be fetched again (their `refresh`)."""
        self.directory = directory
        self._lock = threading.Lock()
        self._resolve = resolve
        self._now = now
        policy, self._files = load_policy_files(directory)
        self._policy = resolve(policy)
        self._fingerprint = _fingerprint(directory)
        self._fetched_at = dict.fromkeys(self._policy.feed_refresh, now())
        self.last_error: str | None = None

    @property
    def policy(self) -> Policy:
        with self._lock:
            return self._policy

    @property
    def files(self) -> dict[str, str]:
        """The mappings files the running policy was built from ({file name: text})."""
        with self._lock:
            return dict(self._files)

    def feeds_due(self) -> list[str]:
        """The holiday feed URLs whose refresh interval has passed since they were last fetched."""
        now = self._now()
        return [
            url
            for url, every in self._policy.feed_refresh.items()
            if now - self._fetched_at.get(url, now) >= every
        ]

    def reload_if_changed(self) -> bool:
        """Re-read the mappings if a file changed or a holiday feed URL is due (only the due feeds
        are fetched; the others keep the text the running version has). True when a new valid
        version is now active: a feed whose dates changed makes a new version as an edit does.
        On invalid mappings logs every error and keeps the last good policy; a feed that cannot
        be fetched keeps its last good copy (`connector.mappings.ics_feeds`)."""
        fingerprint = _fingerprint(self.directory)
        due = self.feeds_due()
        if fingerprint == self._fingerprint and not due:
            return False
        # on an edit every feed is read again; on a refresh only the due ones
        kept = {} if fingerprint != self._fingerprint else self._kept_feeds(due)
        self._fingerprint = fingerprint
        now = self._now()
        try:
            policy, files = load_policy_files(self.directory, kept)
            policy = self._resolve(policy)
        except HelpdeskError as exc:
            self.last_error = f"names in the mappings could not be looked up: {exc}"
            log.error("mappings names unresolved; keeping last good policy", error=str(exc))
            return False
        except MappingsInvalid as exc:
            self.last_error = "\n".join(str(e) for e in exc.errors)
            log.error(
                "mappings invalid; keeping last good policy",
                kept_version=self._policy.version,
                errors=[str(e) for e in exc.errors],
            )
            return False
        finally:
            for url in due:  # a failed refresh waits a whole interval too, not every cycle
                self._fetched_at[url] = now
        self.last_error = None
        with self._lock:
            changed = policy.version != self._policy.version
            self._policy, self._files = policy, files
        for url in policy.feed_refresh:
            if url not in kept:
                self._fetched_at[url] = now
        if changed:
            log.info("policy reloaded", version=policy.version, feeds_refreshed=due)
        return changed

    def _kept_feeds(self, due: list[str]) -> dict[str, str]:
        return {source: text for source, text in recorded_feeds(self._files).items() if source not in due}
