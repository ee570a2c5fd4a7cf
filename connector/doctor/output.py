"""How doctor findings are printed and what they mean for the exit code."""

from __future__ import annotations

from collections.abc import Sequence

from connector.doctor.findings import Finding, FindingKind

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREACHABLE = 3


def render(findings: Sequence[Finding], checked: Sequence[str]) -> list[str]:
    """One line per finding, then a summary line."""
    lines = [str(finding) for finding in findings]
    names = ", ".join(checked) or "no connections"
    if findings:
        lines.append(f"{len(findings)} problem{'s' if len(findings) != 1 else ''} found ({names})")
    else:
        lines.append(f"ok: {names} reachable, credentials accepted, every reference exists")
    return lines


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when all is well, 3 when a helpdesk cannot be reached or refuses the credentials,
    else 1."""
    if any(finding.kind is FindingKind.UNREACHABLE for finding in findings):
        return EXIT_UNREACHABLE
    return EXIT_INVALID if findings else EXIT_OK
