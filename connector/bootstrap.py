"""Composition root: mappings + store + helpdesk plugins + clock -> a ready `SyncService`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from connector.clock import SystemClock
from connector.domain.policy import ConnectionConfig
from connector.mappings.references import ReferenceResolver
from connector.notify.apprise_notifier import AppriseNotifier
from connector.policy_holder import PolicyHolder
from connector.ports import Clock, Helpdesk, HelpdeskDirectory, SecretSource
from connector.registry import plugin
from connector.secrets import EnvSecrets
from connector.stopping import StopSignal
from connector.store.repository import Store
from connector.sync import SyncService


@dataclass
class App:
    policies: PolicyHolder
    store: Store
    helpdesks: dict[str, Helpdesk]
    service: SyncService
    clock: Clock
    stop: StopSignal

    def request_stop(self, reason: str) -> None:
        """Finish nothing new: the cycle stops between pages and batches, waits end at once."""
        self.service.stopping = True
        self.stop.request(reason)

    def stop_after(self, seconds: float, reason: str) -> threading.Timer:
        """`request_stop(reason)` in `seconds` (a time budget); cancel the timer to withdraw it."""
        timer = threading.Timer(seconds, self.request_stop, args=(reason,))
        timer.daemon = True
        timer.start()
        return timer

    def close(self) -> None:
        self.store.close()


def connect_helpdesks(
    policies: PolicyHolder, secrets: SecretSource, sleep: Callable[[float], None] | None = None
) -> dict[str, Helpdesk]:
    """One adapter per configured connection. `sleep` replaces the adapters' real waits (retry
    back-off, job polling): the demo passes its scaled clock's sleep."""
    helpdesks: dict[str, Helpdesk] = {}
    for connection in policies.policy.connections:
        module = plugin(connection.kind)
        if sleep is None:
            helpdesks[connection.name] = module.connect(connection, secrets)
        else:
            helpdesks[connection.name] = module.connect(connection, secrets, sleep=sleep)
    return helpdesks


def reference_resolver(secrets: SecretSource) -> ReferenceResolver:
    """Resolves fields, groups and people the mappings name through each connection's helpdesk."""

    def open_directory(config: ConnectionConfig) -> HelpdeskDirectory:
        directory: HelpdeskDirectory = plugin(config.kind).directory(config, secrets)
        return directory

    return ReferenceResolver(open_directory)


def build_app(
    mappings: Path,
    db: str | None = None,
    *,
    clock: Clock | None = None,
    helpdesks: Mapping[str, Helpdesk] | None = None,
    secrets: SecretSource | None = None,
    sleep: Callable[[float], None] | None = None,
) -> App:
    """Raises `MappingsInvalid` before anything else starts if the mappings are not valid or name
    a field, group or person the helpdesk does not have.

    Without `sleep` the adapters wait on the app's `StopSignal`, so `App.request_stop` ends their
    retry waits at once."""
    secrets = secrets or EnvSecrets()
    clock = clock or SystemClock()
    policies = PolicyHolder(mappings, resolve=reference_resolver(secrets), now=clock.now)
    stop = StopSignal()
    connected = (
        dict(helpdesks) if helpdesks is not None else connect_helpdesks(policies, secrets, sleep or stop)
    )
    store = Store.open(db)
    notifier = AppriseNotifier(lambda: policies.policy.channels, secrets)
    service = SyncService(store, connected, policies, clock, notifier=notifier)
    if helpdesks is None and sleep is None:
        service.waits = stop  # the adapters' retry waits: a pull serves waiting work in them
    return App(policies=policies, store=store, helpdesks=connected, service=service, clock=clock, stop=stop)
