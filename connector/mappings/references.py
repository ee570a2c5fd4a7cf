"""Fields, groups and people the mappings name instead of giving ids, resolved to ids through
each helpdesk when tierdesk starts.

`fields: {tier: {name: "Customer tier"}}` becomes the field's id, `aliases: {duty-managers:
{group: "Duty managers"}}` the group's id, `aliases: {sla-watcher: {user: "watcher@example.com"}}`
the agent's id (by e-mail address, else by name). Names match case-insensitively; a name that
matches nothing, or more than one thing, is a `MappingError` at the line it is written on, with
the closest names and their ids. Resolved ids are remembered, so a reload of the mappings only
asks the helpdesk about names it has not seen."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Sequence

from connector.domain.policy import ConnectionConfig, NamedReference, Policy
from connector.mappings.errors import MappingError, MappingsInvalid
from connector.ports import DirectoryEntry, HelpdeskDirectory

DirectoryOpener = Callable[[ConnectionConfig], HelpdeskDirectory]


class ReferenceResolver:
    """Turns a policy whose connections name things into one that holds only ids."""

    def __init__(self, opener: DirectoryOpener) -> None:
        self._opener = opener
        self._known: dict[tuple[str, str, str], str] = {}  # (connection, kind, name) -> id

    def __call__(self, policy: Policy) -> Policy:
        """The policy with every named reference resolved; raises `MappingsInvalid` listing each
        name that could not be, and `connector.retry.HelpdeskError` when a helpdesk cannot answer."""
        if not any(config.named for config in policy.connections):
            return policy
        errors: list[MappingError] = []
        connections = [self._resolve(config, errors) for config in policy.connections]
        if errors:
            raise MappingsInvalid(sorted(errors))
        return dataclasses.replace(policy, connections=tuple(connections))

    def _resolve(self, config: ConnectionConfig, errors: list[MappingError]) -> ConnectionConfig:
        if not config.named:
            return config
        if any(self._key(config, ref) not in self._known for ref in config.named):
            directory = self._opener(config)
            try:
                resolved, problems = self.resolve_connection(config, directory)
            finally:
                directory.close()
            errors += problems
            return resolved
        return self._apply(config)

    @staticmethod
    def _key(config: ConnectionConfig, ref: NamedReference) -> tuple[str, str, str]:
        return (config.name, ref.kind, ref.name.lower())

    def _apply(self, config: ConnectionConfig) -> ConnectionConfig:
        fields, aliases = dict(config.fields), dict(config.aliases)
        for ref in config.named:
            resolved = self._known.get(self._key(config, ref))
            if resolved is not None:
                (fields if ref.section == "fields" else aliases)[ref.key] = resolved
        return dataclasses.replace(config, fields=fields, aliases=aliases, named=())

    def resolve_connection(
        self, config: ConnectionConfig, directory: HelpdeskDirectory
    ) -> tuple[ConnectionConfig, list[MappingError]]:
        """`config` with the names `directory` knows replaced by ids (those it does not know are
        left out), and an error for each name that matched nothing or several things."""
        refs = [ref for ref in config.named if self._key(config, ref) not in self._known]
        kinds = {ref.kind for ref in refs}
        pools: dict[str, list[DirectoryEntry]] = {}
        if "field" in kinds:
            pools["field"] = directory.fields()
        if "group" in kinds:
            pools["group"] = directory.groups()
        if "user" in kinds:
            pools["user"] = directory.users(sorted({ref.name for ref in refs if ref.kind == "user"}))
        errors: list[MappingError] = []
        for ref in refs:
            pool = pools[ref.kind]
            matches = _matching(ref, pool)
            if len(matches) == 1:
                self._known[self._key(config, ref)] = matches[0].id
                continue
            if matches:
                listed = ", ".join(described(entry) for entry in matches)
                message = (
                    f"{ref.kind} name '{ref.name}' matches {len(matches)} on {config.url} ({listed}); "
                    "write the id"
                )
            else:
                close = closest_entries(ref.name, pool)
                hint = f"; did you mean {' or '.join(described(e) for e in close)}?" if close else ""
                message = f"no {ref.kind} named '{ref.name}' on {config.url}{hint}"
            errors.append(
                MappingError(
                    ref.path,
                    ref.line,
                    ref.col,
                    f"connection '{config.name}' {ref.section}.{ref.key}: {message}",
                )
            )
        return self._apply(config), errors


def _matching(ref: NamedReference, pool: Sequence[DirectoryEntry]) -> list[DirectoryEntry]:
    wanted = ref.name.lower()
    if ref.kind == "user":
        by_email = [entry for entry in pool if entry.detail.lower() == wanted]
        if by_email:
            return by_email
    return [entry for entry in pool if entry.name.strip().lower() == wanted]


def described(entry: DirectoryEntry) -> str:
    """`'Customer tier' (360000000001)`; the id alone when it is the name."""
    return f"'{entry.name}'" if entry.name == entry.id else f"'{entry.name}' ({entry.id})"


def closest_entries(word: str, entries: Iterable[DirectoryEntry], n: int = 3) -> list[DirectoryEntry]:
    """The entries whose name (or id) is closest to `word`: close spellings first, then names
    holding it as a word (`tier` finds `Customer tier`)."""
    pool = list(entries)
    wanted = word.replace("_", " ").replace("-", " ").strip().lower()
    by_key: dict[str, DirectoryEntry] = {}
    for entry in pool:
        by_key.setdefault(entry.name.lower(), entry)
        by_key.setdefault(entry.id.lower(), entry)
    chosen: list[DirectoryEntry] = []
    for key in difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=0.6):
        if by_key[key] not in chosen:
            chosen.append(by_key[key])
    for entry in pool:
        if len(chosen) >= n:
            break
        if wanted and wanted in entry.name.lower() and entry not in chosen:
            chosen.append(entry)
    return chosen[:n]


def close_values(word: str, values: Iterable[str], n: int = 1) -> list[str]:
    """The value(s) closest to `word`, case-insensitively (the best one by default)."""
    choices = sorted(set(values))
    lowered = {value.lower(): value for value in choices}
    return [lowered[v] for v in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)]
