"""`accounts:` checked against the rest of the mappings, and turned into domain `Account`s.

Checks beyond each entry's shape: the tier, calendar, connections and target severities an account
names exist; no organization is claimed twice (two accounts, or one account twice: both places are
reported, each naming the other); an account's contracts do not overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, Protocol

from connector.domain.accounts import Account, OrganizationLink
from connector.domain.contracts import AllowanceTerms, ChronicTerms, Contract, CreditBand, CreditTerms
from connector.domain.policy import Metric
from connector.mappings.account_models import AccountModel, ContractModel
from connector.mappings.errors import Anchor, Loc


class _Run(Protocol):
    """What the checks use of the validation run (`connector.mappings.validate`)."""

    def mapping(self, section: str) -> dict[str, Any] | None: ...
    def entry_names(self, section: str, raw: Mapping[str, Any]) -> None: ...
    def model(self, model_type: Any, raw: Any, loc: Loc) -> Any: ...
    def reference(self, loc: Loc, kind: str, name: str, known: set[str] | None) -> None: ...
    def report(self, loc: Loc, message: str, anchor: Anchor = "value") -> None: ...


@dataclass(frozen=True, slots=True)
class CheckedAccount:
    model: AccountModel
    source: str  # file:line of the account
    link_sources: tuple[str, ...]  # file:line of each organization link
    contract_sources: tuple[str, ...]


def check_accounts(
    run: _Run,
    source: Callable[[Loc], str],
    names: Callable[[str], set[str] | None],
    builtin_calendars: Iterable[str],
) -> dict[str, CheckedAccount]:
    """The valid accounts; problems are reported through `run`."""
    raw = run.mapping("accounts")
    if raw is None:
        return {}
    run.entry_names("accounts", raw)
    tiers, severities, connections = names("tiers"), names("severities"), names("connections")
    calendars = names("calendars")
    calendars = None if calendars is None else calendars | set(builtin_calendars)
    checked: dict[str, CheckedAccount] = {}
    claimed: dict[tuple[str, str, str], tuple[str, Loc, str]] = {}
    for account_id, entry in raw.items():
        loc: Loc = ("accounts", account_id)
        model: AccountModel | None = run.model(AccountModel, entry, loc)
        # references are checked from what is written even when the entry has a bad value
        written = entry if isinstance(entry, dict) else {}
        for name, kind, known in (("tier", "tier", tiers), ("calendar", "calendar", calendars)):
            value = written.get(name)
            if isinstance(value, str):
                run.reference((*loc, name), kind, value, known)
        links = written.get("organizations")
        for index, link_raw in enumerate(links if isinstance(links, list) else []):
            connection = link_raw.get("connection") if isinstance(link_raw, dict) else None
            if isinstance(connection, str):
                run.reference(
                    (*loc, "organizations", index, "connection"), "connection", connection, connections
                )
        if model is None:
            continue
        for index, link in enumerate(model.organizations):
            link_loc: Loc = (*loc, "organizations", index)
            key = (link.connection, link.by, link.value.casefold())
            earlier = claimed.get(key)
            if earlier is None:
                claimed[key] = (account_id, link_loc, link.value)
                continue
            other_id, other_loc, other_value = earlier
            by = link.by.replace("_", " ")
            fix = "an organization belongs to one account: remove one of the two"
            run.report(
                other_loc,
                f"{link.connection} organization {by} '{other_value}' is also claimed by account "
                f"'{account_id}' at {source(link_loc)}; {fix}",
            )
            run.report(
                link_loc,
                f"{link.connection} organization {by} '{link.value}' is already claimed by account "
                f"'{other_id}' at {source(other_loc)}; {fix}",
            )
        _check_contracts(run, loc, model.contracts, severities, source)
        checked[account_id] = CheckedAccount(
            model,
            source((*loc, "[key]")),
            tuple(source((*loc, "organizations", i)) for i in range(len(model.organizations))),
            tuple(source((*loc, "contracts", i)) for i in range(len(model.contracts))),
        )
    return checked


def _check_contracts(
    run: _Run,
    loc: Loc,
    contracts: list[ContractModel],
    severities: set[str] | None,
    source: Callable[[Loc], str],
) -> None:
    for index, contract in enumerate(contracts):
        for severity in contract.targets:
            if severities is not None and severity not in severities:
                run.reference(
                    (*loc, "contracts", index, "targets", severity), "severity", severity, severities
                )
    ordered = sorted(range(len(contracts)), key=lambda i: contracts[i].start)
    for before, after in pairwise(ordered):
        ends = contracts[before].ends
        if ends is None or ends > contracts[after].start:
            run.report(
                (*loc, "contracts", after, "start"),
                f"these terms start {contracts[after].start} while the terms at "
                f"{source((*loc, 'contracts', before))} are still in force"
                f"{'' if ends is None else f' (until {ends})'}; give the earlier terms end: "
                f"{contracts[after].start}",
            )


# ------------------------------------------------------------------------------------ build


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _contract(model: ContractModel, source: str) -> Contract:
    targets = {
        severity: {
            metric: value
            for metric in Metric
            if isinstance(value := getattr(targets, metric.value), timedelta)
        }
        for severity, targets in model.targets.items()
    }
    credit = model.credit
    allowance = model.allowance
    return Contract(
        start=model.start,
        end=model.ends,
        currency=model.currency,
        monthly_fee=model.monthly_fee,
        targets=targets,
        credit=None
        if credit is None
        else CreditTerms(
            cap_percent=Decimal(str(credit.cap)),
            per_breach_percent=_decimal(credit.per_breach),
            bands=tuple(
                CreditBand(Decimal(str(band.below)), Decimal(str(band.credit))) for band in credit.bands or ()
            ),
            metrics=frozenset(credit.metrics),
        ),
        allowance=None
        if allowance is None
        else AllowanceTerms(
            tickets=allowance.tickets,
            hours=_decimal(allowance.hours),
            ceiling_tickets=None if allowance.ceiling is None else allowance.ceiling.tickets,
            ceiling_hours=None if allowance.ceiling is None else _decimal(allowance.ceiling.hours),
        ),
        chronic=ChronicTerms(model.chronic_overuse.months, model.chronic_overuse.of_last),
        name=model.name or f"from {model.start}",
        source=source,
    )


def build_accounts(checked: Mapping[str, CheckedAccount]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for account_id, entry in checked.items():
        model = entry.model
        contracts = sorted(
            (_contract(c, s) for c, s in zip(model.contracts, entry.contract_sources, strict=True)),
            key=lambda c: c.start,
        )
        accounts[account_id] = Account(
            id=account_id,
            name=model.name or account_id,
            organizations=tuple(
                OrganizationLink(link.connection, link.by, link.value, where)
                for link, where in zip(model.organizations, entry.link_sources, strict=True)
            ),
            tier=model.tier,
            calendar=model.calendar,
            contracts=tuple(contracts),
            source=entry.source,
        )
    return accounts
