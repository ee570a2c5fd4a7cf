"""The running policy: loaded from the mappings directory, reloaded when files change, and kept at
the last good version when an edit is invalid (the worker never runs on a broken configuration)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from connector.domain.policy import Policy
from connector.mappings import MappingsInvalid, load_policy_files
from connector.retry import HelpdeskError

log = structlog.get_logger("tierdesk.policy")


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    # Holiday feeds kept beside the YAML files (`holidays.ics`) are part of the configuration too.
    files = [*directory.glob("*.yaml"), *directory.glob("*.ics")]
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file()))


Resolve = Callable[[Policy], Policy]


def _as_given(policy: Policy) -> Policy:
    return policy


class PolicyHolder:
    def __init__(self, directory: Path, resolve: Resolve = _as_given) -> None:
        """Load the mappings; raises `MappingsInvalid` (with every error) if they are not valid.

        `resolve` turns the loaded policy into the one that runs (fields, groups and people named
        in the mappings become ids, `connector.mappings.references`); it runs at every load."""
        self.directory = directory
        self._lock = threading.Lock()
        self._resolve = resolve
        policy, self._files = load_policy_files(directory)
        self._policy = resolve(policy)
        self._fingerprint = _fingerprint(directory)
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

    def reload_if_changed(self) -> bool:
        """Re-read the mappings if a file changed. True when a new valid version is now active;
        on invalid mappings logs every error and keeps the last good policy."""
        fingerprint = _fingerprint(self.directory)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        try:
            policy, files = load_policy_files(self.directory)
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
        self.last_error = None
        with self._lock:
            changed = policy.version != self._policy.version
            self._policy, self._files = policy, files
        if changed:
            log.info("policy reloaded", version=policy.version)
        return changed
