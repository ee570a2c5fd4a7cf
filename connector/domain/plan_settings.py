"""What the write-back plan reads from the policy for one tier, severity and connection."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from connector.domain.formatting import tag_name
from connector.domain.policy import ConnectionConfig, NotificationChannel, Policy, Tier

MANAGED_FAMILIES: Final = ("tier_", "sev_", "sla_")


class PlanSettings:
    """What the plan reads from the policy for one tier, severity and connection, derived once:
    the engine keeps one per combination and policy instead of re-deriving it per ticket."""

    __slots__ = (
        "aliases",
        "breached_tag",
        "channels",
        "fields",
        "fields_sorted",
        "managed",
        "notes",
        "panel_tail",
        "priority",
        "priority_mode",
        "priority_reason",
        "tags",
        "unmatched_tag",
        "warning_tag",
    )

    def __init__(self, policy: Policy, tier: Tier, severity: str, connection: str) -> None:
        wb = policy.writeback
        prefix = wb.tag_prefix
        self.tags = frozenset({tag_name(f"{prefix}tier_{tier.name}"), tag_name(f"{prefix}sev_{severity}")})
        self.unmatched_tag = tag_name(f"{prefix}tier_unmatched")
        self.warning_tag = tag_name(f"{prefix}sla_warning")
        self.breached_tag = tag_name(f"{prefix}sla_breached")
        self.managed = tuple(prefix + family for family in MANAGED_FAMILIES)
        self.priority = wb.severity_priority.get(severity)
        self.priority_mode = wb.priority_mode
        self.priority_reason = (
            f"severity {severity} maps to priority {self.priority.value}" if self.priority is not None else ""
        )
        conn = _connection(policy, connection)
        self.aliases: Mapping[str, str] = conn.aliases if conn is not None else {}
        mapped = frozenset(conn.fields) if conn is not None else None
        # the fields written, in the order of `Evaluation.desired_fields`
        self.fields: tuple[str, ...] = tuple(
            name
            for name in ("tier", "sla_due", "sla_state")
            if name in wb.fields and (mapped is None or name in mapped)
        )
        self.fields_sorted = tuple(sorted(self.fields))
        self.notes = wb.notes
        self.channels: Mapping[str, NotificationChannel] = policy.channels
        self.panel_tail = (
            f'],"severity":{json.dumps(severity)},"tier":{json.dumps(tier.name)},'
            f'"tier_label":{json.dumps(tier.label)}}}'
        )


def _connection(policy: Policy, name: str) -> ConnectionConfig | None:
    for conn in policy.connections:
        if conn.name == name:
            return conn
    return None
