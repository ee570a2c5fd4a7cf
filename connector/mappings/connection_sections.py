"""Section checks of `escalations`, `writeback`, `changes` and `connections`, and the sections
every mappings set needs."""

from __future__ import annotations

from connector.mappings.connection_models import ConnectionModel, WritebackModel
from connector.mappings.errors import Issue, Loc, unknown_reference
from connector.mappings.models import ChangesModel
from connector.mappings.tier_models import ChainModel
from connector.mappings.validation_run import REQUIRED_SECTIONS, ValidationRun


class ConnectionSections(ValidationRun):
    """Escalation chains, write-back settings, changes, connections and the required sections."""

    def chains(self) -> dict[str, ChainModel]:
        raw = self.mapping("escalations")
        if raw is None:
            return {}
        self.entry_names("escalations", raw)
        chains: dict[str, ChainModel] = {}
        for name, entry in raw.items():
            loc: Loc = ("escalations", name)
            chain = self.model(ChainModel, entry, loc)
            if chain is None:
                continue
            chains[name] = chain
            seen: dict[tuple[str, frozenset[str] | None], int] = {}
            for index, level in enumerate(chain.levels):
                metrics = frozenset(level.metrics) if level.metrics is not None else None
                key = (level.trigger, metrics)
                if key in seen:
                    self.report(
                        (
                            *loc,
                            "levels",
                            index,
                            "at" if level.at else "on_arrival" if level.on_arrival else "after",
                        ),
                        f"a level at '{level.trigger}' for the same metrics is already level {seen[key] + 1}; "
                        "merge their actions",
                    )
                seen.setdefault(key, index)
        return chains

    def writeback(self) -> WritebackModel | None:
        """The write-back settings (defaults when the section is absent); None when invalid."""
        if "writeback" not in self.sections.sections:
            return WritebackModel()
        model = self.model(WritebackModel, self.sections.raw("writeback"), ("writeback",))
        if model is None:
            return None
        severity_names = self.names("severities")
        for severity in model.priority_from_severity:
            if severity_names is not None and severity not in severity_names:
                self.report(
                    ("writeback", "priority_from_severity", severity),
                    unknown_reference("severity", severity, severity_names),
                    "key",
                )
        return model

    def changes(self) -> ChangesModel | None:
        """When this version takes effect (defaults when the section is absent); None when invalid."""
        if "changes" not in self.sections.sections:
            return ChangesModel()
        return self.model(ChangesModel, self.sections.raw("changes"), ("changes",))

    def connections(self, writeback: WritebackModel | None) -> list[ConnectionModel]:
        if "connections" not in self.sections.sections:
            return []
        raw = self.sections.raw("connections")
        if not isinstance(raw, list):
            self.report(("connections",), "connections must be a list ('- name: ...' items)", "key")
            return []
        connections: list[ConnectionModel] = []
        seen: set[str] = set()
        for index, item in enumerate(raw):
            loc: Loc = ("connections", index)
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                self.report((*loc, "name"), f"connection name '{name}' is used twice")
            seen.add(str(name))
            connection = self.model(ConnectionModel, item, loc)
            if connection is None:
                continue
            connections.append(connection)
            for section in ("fields", "aliases"):
                for key, value in getattr(connection, section).items():
                    if not isinstance(value, str):
                        where = self.sections.error(Issue((*loc, section, key), ""))
                        self.named_at[(connection.name, section, key)] = where
            unmapped = [
                name for name in (writeback.fields if writeback else []) if name not in connection.fields
            ]
            if unmapped:
                listed = ", ".join(f"'{name}'" for name in unmapped)
                self.report(
                    (*loc, "fields"),
                    f"connection '{connection.name}' has no field id for {listed}, which "
                    "writeback.fields writes; map each here (logical name: helpdesk field id) "
                    "or remove it from writeback.fields",
                    "key",
                )
        return connections

    def mapped_fields(self) -> set[str] | None:
        """Logical field names mapped by any connection, or None when fields are not checked."""
        if "connections" not in self.sections.sections:
            return None
        raw = self.sections.raw("connections")
        names: set[str] = set()
        for item in raw if isinstance(raw, list) else []:
            fields = item.get("fields") if isinstance(item, dict) else None
            if isinstance(fields, dict):
                names.update(fields)
        return names

    def required_sections(self) -> None:
        if not self.complete:
            return
        for name, purpose in REQUIRED_SECTIONS.items():
            if name not in self.sections.sections:
                self.report((), f"missing section '{name}' ({purpose}); add it to a file such as {name}.yaml")
