"""`tierdesk doctor` for accounts: every organization an account links by id, external id or name
must exist on its connection (a domain link names no organization and is not looked up)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connector.doctor.findings import Finding, closest_entries, described
from connector.domain.policy import Policy
from connector.ports import DirectoryEntry


def _matches(by: str, value: str, entry: DirectoryEntry) -> bool:
    wanted = value.strip().casefold()
    if by == "id":
        return entry.id.strip().casefold() == wanted
    if by == "external_id":
        return bool(entry.detail) and entry.detail.strip().casefold() == wanted
    return entry.name.strip().casefold() == wanted


def check_account_organizations(
    policy: Policy, organizations: Mapping[str, Sequence[DirectoryEntry]]
) -> list[Finding]:
    """Findings for account links to organizations the connection does not hold; `organizations`
    holds each reached connection's organizations (connections not reached are not checked)."""
    findings: list[Finding] = []
    for account in policy.accounts.values():
        for link in account.organizations:
            pool = organizations.get(link.connection)
            if pool is None or link.by == "domain":
                continue
            if any(_matches(link.by, link.value, entry) for entry in pool):
                continue
            close = closest_entries(link.value, pool)
            hint = f"; did you mean {' or '.join(described(e) for e in close)}?" if close else ""
            shown = ", ".join(described(e) for e in pool[:8]) or "none exist"
            findings.append(
                Finding(
                    link.connection,
                    f"account '{account.id}' ({link.source}) links organization "
                    f"{link.by.replace('_', ' ')} '{link.value}', which {link.connection} does not have{hint}",
                    f"fix the link in accounts.yaml (known: {shown})",
                )
            )
    return findings
