"""Secrets from the environment: `NAME` or a file named by `NAME_FILE` (Docker/Kubernetes secrets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class EnvSecrets:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value:
            return value
        path = self._environ.get(f"{name}_FILE")
        if path:
            return Path(path).read_text(encoding="utf-8").strip()
        return None
