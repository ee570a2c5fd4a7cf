"""Cross-checks of a tier's clock conditions: the calendars, severities and fields they name."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from connector.domain.plan_settings import MANAGED_FAMILIES
from connector.mappings.errors import Anchor, Loc, did_you_mean, unknown_reference
from connector.mappings.tier_models import TierModel

_FIELD_ID = re.compile(r"^(\d+|customfield_\d+)$")

Problem = tuple[Loc, str, Anchor]


def condition_problems(
    tiers: Mapping[str, TierModel],
    calendars: set[str] | None,
    severities: set[str] | None,
    fields: set[str] | None,
    tag_prefix: str = "",
) -> Iterator[Problem]:
    """Unknown calendars, severities and unmapped fields named by `clocks:`, `severity_clocks:`
    and `manual:` (None: that section may be unseen, so it is not checked), and manual tags in the
    families tierdesk owns (it removes those tags when they are not its own)."""
    owned = tuple(tag_prefix + family for family in MANAGED_FAMILIES)
    for name, tier in tiers.items():
        loc: Loc = ("tiers", name)
        named = [((*loc, "clocks", m.value), c.calendar, c.target_from) for m, c in tier.clocks.items()]
        for severity, clocks in tier.severity_clocks.items():
            if severities is not None and severity not in severities:
                yield (
                    (*loc, "severity_clocks", severity),
                    f"clock settings for undefined severity '{severity}'{did_you_mean(severity, severities)} "
                    f"(severities: {', '.join(sorted(severities))})",
                    "key",
                )
            named += [
                ((*loc, "severity_clocks", severity, m.value), c.calendar, c.target_from)
                for m, c in clocks.items()
            ]
        for where, calendar, target_from in named:
            if calendar is not None and calendars is not None and calendar not in calendars:
                yield (*where, "calendar"), unknown_reference("calendar", calendar, calendars), "value"
            if target_from is not None:
                yield from _field((*where, "target_from", "field"), target_from.field, fields)
        for index, entry in enumerate(tier.manual):
            effect = "exempt" if entry.exempt is not None else "pause"
            if entry.when.field is not None:
                yield from _field((*loc, "manual", index, effect, "field"), entry.when.field, fields)
            tag = entry.when.tag
            if tag is not None and tag.casefold().startswith(owned):
                yield (
                    (*loc, "manual", index, effect, "tag"),
                    f"tag '{tag}' is in a family tierdesk writes ({', '.join(f + '*' for f in owned)}) and "
                    f"would be removed from the ticket; use another name, e.g. '{tag.split('_', 1)[-1]}_sla'",
                    "value",
                )


def _field(loc: Loc, name: str, fields: set[str] | None) -> Iterator[Problem]:
    if fields is not None and name not in fields and not _FIELD_ID.match(name):
        yield (
            loc,
            f"field '{name}' is not mapped by any connection{did_you_mean(name, fields)} "
            "(add it under a connection's fields: logical name -> helpdesk field id)",
            "value",
        )
