"""The `olas:` section: a group's own target (operational level agreement) per hold of a ticket,
on the group's calendar, reported beside the customer's SLA (`connector.domain.group_clocks`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from connector.domain.group_clocks import Ola
from connector.mappings.errors import Loc, unknown_reference
from connector.mappings.field_types import Duration, Name, StrictModel
from connector.mappings.loader import Sections


class OlaModel(StrictModel):
    """How long the group may hold a ticket each time it is assigned to it."""

    target: Duration = Field(description="business time on the calendar per hold, e.g. 4h")
    calendar: Name = Field(default="24x7", description="the calendar the hold is measured on (default 24x7)")


def check_olas(
    raw: Mapping[str, Any] | None,
    model: Callable[[type[OlaModel], Any, Loc], OlaModel | None],
    report: Callable[[Loc, str], None],
    calendar_names: set[str] | None,
    group_names: set[str] | None,
) -> dict[str, OlaModel]:
    """The valid OLAs; each key must be an alias of some connection or a group id, each calendar
    a defined one (`None`: that section could not be read, so its names are not checked)."""
    olas: dict[str, OlaModel] = {}
    for name, entry in (raw or {}).items():
        loc: Loc = ("olas", name)
        checked = model(OlaModel, entry, loc)
        key = str(name)
        if group_names is not None and not key.isdigit() and key not in group_names:
            known = ", ".join(sorted(group_names)) or "none yet"
            report(
                (*loc, "[key]"),
                f"OLA '{key}' names no group: write a connection alias (known: {known}) or a group id "
                "-> add the group under the connection's aliases",
            )
            continue
        if checked is None:
            continue
        if calendar_names is not None and checked.calendar not in calendar_names:
            report((*loc, "calendar"), unknown_reference("calendar", checked.calendar, calendar_names))
            continue
        olas[key] = checked
    return olas


def build_olas(olas: Mapping[str, OlaModel], sources: Mapping[str, str]) -> dict[str, Ola]:
    return {
        name: Ola(name, model.target, model.calendar, sources.get(name, "")) for name, model in olas.items()
    }


def alias_names(sections: Sections) -> set[str] | None:
    """Every alias any connection defines (None when the connections could not be read)."""
    raw = sections.raw("connections")
    if "connections" in sections.sections and not isinstance(raw, list):
        return None
    names: set[str] = set()
    for item in raw if isinstance(raw, list) else []:
        aliases = item.get("aliases") if isinstance(item, dict) else None
        if isinstance(aliases, dict):
            names.update(str(name) for name in aliases)
    return names
