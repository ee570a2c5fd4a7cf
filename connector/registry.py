"""Helpdesk plugins by kind. Adding a helpdesk = a folder in `plugins/` and one line here.

Each plugin module provides `connect(config, secrets) -> Helpdesk`,
`directory(config, secrets) -> HelpdeskDirectory` (look-ups for `tierdesk doctor` and named
references) and
`build_emulator(clock_mode=..., seed=..., credentials=..., start=...) -> EmulatorApp`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PLUGINS: dict[str, str] = {
    "zendesk": "plugins.zendesk",
    "jira": "plugins.jira",
}


def plugin(kind: str) -> ModuleType:
    try:
        module_name = PLUGINS[kind]
    except KeyError:
        raise ValueError(f"unknown helpdesk kind {kind!r}; known: {', '.join(sorted(PLUGINS))}") from None
    return importlib.import_module(module_name)
