"""The effective-dated policy a worker evaluates with: the store's activations, each version rebuilt
from the mappings files kept with it, the running policy last (`connector.domain.record`)."""

from __future__ import annotations

import threading
from datetime import datetime

import structlog

from connector.domain.policy import Policy
from connector.domain.record import Activation, PolicyHistory
from connector.mappings import MappingsInvalid, policy_from_files
from connector.policy_holder import PolicyHolder
from connector.ports import StoredActivation
from connector.store.repository import Store

log = structlog.get_logger("tierdesk.policy")


def history_of(
    stored: list[StoredActivation], running: Policy, now: datetime, cache: dict[str, Policy] | None = None
) -> PolicyHistory:
    """A `PolicyHistory` of stored activations with `running` last (as of `now` if the store has
    not recorded it yet). Versions whose files were not kept, or no longer load, are left out: their
    cycles run on the nearest version that does."""
    cache = {} if cache is None else cache
    cache.setdefault(running.version, running)
    activations: list[Activation] = []
    for activation in stored:
        policy = cache.get(activation.version)
        if policy is None:
            if activation.files is None:
                continue
            try:
                policy = cache[activation.version] = policy_from_files(activation.files)
            except MappingsInvalid as exc:
                log.warning(
                    "policy version no longer loads; its clocks run on the next version",
                    version=activation.version,
                    error=str(exc.errors[0]) if exc.errors else "",
                )
                continue
        activations.append(
            Activation(policy, activation.effective_from, activation.apply_to, activation.seen_at)
        )
    if not activations or activations[-1].policy.version != running.version:
        activations.append(Activation(running, running.effective_from or now, running.apply_to, None))
    return PolicyHistory(activations)


class PolicyVersions:
    """Records the running version as an activation the first time a worker evaluates with it, and
    hands out the history, rebuilt only when the running version changes."""

    def __init__(self, store: Store, holder: PolicyHolder) -> None:
        self.store = store
        self.holder = holder
        self._lock = threading.Lock()
        self._history: PolicyHistory | None = None
        self._cache: dict[str, Policy] = {}

    def history(self, now: datetime) -> PolicyHistory:
        policy = self.holder.policy
        with self._lock:
            if self._history is not None and self._history.current is policy:
                return self._history
            added = self.store.record_activation(
                policy.version,
                self.holder.files,
                seen_at=now,
                effective_from=policy.effective_from,
                apply_to=policy.apply_to,
            )
            if added:
                effective = policy.effective_from or now
                log.info(
                    "policy version takes effect",
                    version=policy.version,
                    effective_from=effective.isoformat(),
                    apply_to=policy.apply_to.value,
                )
                if effective < now:
                    log.warning(
                        "policy version takes effect in the past: clocks that started since then "
                        "move onto its targets",
                        version=policy.version,
                        effective_from=effective.isoformat(),
                    )
            self._history = history_of(self.store.activations(), policy, now, self._cache)
            return self._history


def running_history(store: Store, mappings: Policy, now: datetime) -> tuple[PolicyHistory, bool]:
    """What a worker on this store evaluates with, for commands that do not run one (`explain`,
    `plan`): the stored activations, the last one running, and whether `mappings` is a pending
    edit (not the running version). Before any worker ran, `mappings` is the running version."""
    stored = store.activations()
    if not stored or stored[-1].version == mappings.version:
        return history_of(stored, mappings, now), False
    latest = stored[-1]
    try:
        running = policy_from_files(latest.files) if latest.files is not None else None
    except MappingsInvalid:
        running = None
    if running is None:  # the running version cannot be rebuilt: explain with the mappings
        return history_of(stored, mappings, now), False
    return history_of(stored, running, now), True


def with_pending_edit(history: PolicyHistory, edit: Policy, now: datetime) -> PolicyHistory:
    """`history` as it would be once a worker runs `edit` (at `now`, unless it says when)."""
    return history.with_edit(Activation(edit, edit.effective_from or now, edit.apply_to, None))
