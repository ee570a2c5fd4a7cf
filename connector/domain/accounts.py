"""Accounts: one customer across helpdesks, as `mappings/accounts.yaml` defines it.

An account links organizations in every connection (by id, external id, name, or requester e-mail
domain); its tier and calendar win over the customer rules for tickets of those organizations, and
its contract terms (`connector.domain.contracts`) price what it was served. Reports, credits and
allowance are per account; an organization no account claims is its own pseudo-account.

Intended API (kept stable for reports and other readers):

- `Policy.accounts`: account id -> `Account` (empty when there is no accounts.yaml);
- `AccountIndex(policy.accounts)` (or `account_index(policy)`, cached per policy):
  - `.of(connection, organization_id)` -> the `Account` linking that organization by id (links
    written by name / external id are resolved to ids against the helpdesk when tierdesk starts,
    `connector.mappings.references`), else None;
  - `.for_ticket(ticket)` -> the `Account` of a ticket, matching its organization by id, external
    id or name, then its requester's e-mail domain; None when no account claims it;
  - `.key_for_ticket(ticket)` / `.key(connection, organization)` -> an `AccountKey` (id and name)
    that reports group by: the account's, or the pseudo-account `<connection>:<organization id>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta

from connector.domain.contracts import Contract, terms_on
from connector.domain.model import Organization, Ticket
from connector.domain.policy import Metric, Policy, Tier
from connector.domain.policy import normalised as _norm
from connector.domain.results import Decision

LINK_KINDS = ("id", "external_id", "name", "domain")


@dataclass(frozen=True, slots=True)
class OrganizationLink:
    """One organization of an account in one connection. `by` is how it is named (`id`,
    `external_id`, `name`, `domain`); `resolved_id` is the helpdesk's organization id once a link
    by external id or name was resolved (None until then, or for a domain link).
    `source` is `file:line` of the link in the mappings."""

    connection: str
    by: str
    value: str
    source: str = ""
    resolved_id: str | None = None

    def matches(self, connection: str, organization: Organization | None, email: str | None = None) -> bool:
        if connection != self.connection:
            return False
        if self.by == "domain":
            domain = (email or "").rpartition("@")[2]
            return bool(domain) and _norm(domain) == _norm(self.value)
        if organization is None:
            return False
        if self.resolved_id is not None and organization.id == self.resolved_id:
            return True
        if self.by == "id":
            return organization.id == self.value.strip()
        if self.by == "external_id":
            return organization.external_id is not None and _norm(organization.external_id) == _norm(
                self.value
            )
        return _norm(organization.name) == _norm(self.value)

    @property
    def text(self) -> str:
        return f"{self.connection} {self.by.replace('_', ' ')} {self.value!r}"


@dataclass(frozen=True, slots=True)
class Account:
    """A customer account. `tier` / `calendar` (None: the customer rules / the tier's calendar
    decide) apply to every ticket of its organizations; `contracts` are its effective-dated terms,
    oldest first (`connector.domain.contracts.terms_on`)."""

    id: str
    name: str
    organizations: tuple[OrganizationLink, ...]
    tier: str | None = None
    calendar: str | None = None
    contracts: tuple[Contract, ...] = ()
    source: str = ""  # file:line of the account


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """What reports group by: an account, or an organization no account claims (`pseudo`)."""

    id: str
    name: str
    pseudo: bool = field(default=False, compare=False)


class AccountIndex:
    """Look-ups of the account of an organization or ticket (see the module docstring)."""

    __slots__ = ("_by_connection", "_by_id", "accounts", "decisions", "targets")

    def __init__(self, accounts: Mapping[str, Account] | Iterable[Account]) -> None:
        values = list(accounts.values()) if isinstance(accounts, Mapping) else list(accounts)
        self.accounts: dict[str, Account] = {a.id: a for a in values}
        self.decisions: dict[str, Decision] = {}  # account id -> its tier decision (engine cache)
        self.targets: dict[str, ContractTargets] = {}  # variant -> a contract's overrides (engine cache)
        self._by_id: dict[tuple[str, str], Account] = {}
        self._by_connection: dict[str, list[tuple[OrganizationLink, Account]]] = {}
        for account in values:
            for link in account.organizations:
                self._by_connection.setdefault(link.connection, []).append((link, account))
                org_id = link.value.strip() if link.by == "id" else link.resolved_id
                if org_id is not None:
                    self._by_id.setdefault((link.connection, org_id), account)

    def __bool__(self) -> bool:
        return bool(self.accounts)

    def of(self, connection: str, organization_id: str) -> Account | None:
        """The account linking organization `organization_id` of `connection` by id (or by a name
        or external id resolved to that id), else None."""
        return self._by_id.get((connection, organization_id))

    def for_organization(
        self, connection: str, organization: Organization | None, email: str | None = None
    ) -> Account | None:
        if organization is not None:
            found = self._by_id.get((connection, organization.id))
            if found is not None:
                return found
        links = self._by_connection.get(connection, ())
        # organization links first: a domain link only claims tickets no organization link does
        for wanted in (False, True):
            for link, account in links:
                if (link.by == "domain") is wanted and link.matches(connection, organization, email):
                    return account
        return None

    def for_ticket(self, ticket: Ticket) -> Account | None:
        if not self.accounts:
            return None
        return self.for_organization(ticket.connection, ticket.organization, ticket.requester_email)

    def key(
        self, connection: str, organization: Organization | None, email: str | None = None
    ) -> AccountKey | None:
        account = self.for_organization(connection, organization, email) if self.accounts else None
        if account is not None:
            return AccountKey(account.id, account.name)
        if organization is None:
            return None
        return AccountKey(f"{connection}:{organization.id}", organization.name, pseudo=True)

    def key_for_ticket(self, ticket: Ticket) -> AccountKey | None:
        return self.key(ticket.connection, ticket.organization, ticket.requester_email)


_INDEXES: dict[int, tuple[Policy, AccountIndex]] = {}
_INDEXES_MAX = 16


def account_index(policy: Policy) -> AccountIndex:
    """The `AccountIndex` of a policy's accounts, built once per policy (policies are immutable,
    so it is keyed by identity, the policy held so its id cannot be reused while cached)."""
    found = _INDEXES.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    if len(_INDEXES) >= _INDEXES_MAX:
        _INDEXES.clear()
    index = AccountIndex(policy.accounts)
    _INDEXES[id(policy)] = (policy, index)
    return index


def account_decision(policy: Policy, ticket: Ticket) -> Decision | None:
    """The tier decision of a ticket whose organization an account with a tier claims (it wins
    over the customer rules), else None. Built once per policy and account."""
    if not policy.accounts:
        return None
    index = account_index(policy)
    account = index.for_ticket(ticket)
    if account is None or account.tier is None or account.tier not in policy.tiers:
        return None
    found = index.decisions.get(account.id)
    if found is None:
        found = index.decisions[account.id] = Decision(
            value=account.tier,
            rule=f"account {account.name} ({account.id}), which wins over the customer rules",
            source=account.source,
            calendar=account.calendar,
        )
    return found


@dataclass(frozen=True, slots=True)
class ContractTargets:
    """An account contract's target overrides, applied to a tier (`variant` keys the engine's
    caches: the account and the contract's start)."""

    variant: str
    targets: Mapping[str, Mapping[Metric, timedelta]]
    # id(tier) -> (the tier, held so its id stays unique; it with the overrides)
    applied: dict[int, tuple[Tier, Tier]] = field(default_factory=dict, compare=False)

    def apply(self, tier: Tier) -> Tier:
        found = self.applied.get(id(tier))
        if found is not None and found[0] is tier:
            return found[1]
        merged = {severity: dict(metrics) for severity, metrics in tier.targets.items()}
        for severity, metrics in self.targets.items():
            merged.setdefault(severity, {}).update(metrics)
        result = replace(tier, targets=merged)
        self.applied[id(tier)] = (tier, result)
        return result


def contract_targets(policy: Policy, ticket: Ticket) -> ContractTargets | None:
    """The target overrides of the contract in force on the ticket's creation day (in UTC) for
    the ticket's account, else None."""
    index = account_index(policy)
    account = index.for_ticket(ticket)
    if account is None or not account.contracts:
        return None
    contract = terms_on(account.contracts, ticket.created_at.astimezone(UTC).date())
    if contract is None or not contract.targets:
        return None
    variant = f"{account.id}@{contract.start.isoformat()}"
    found = index.targets.get(variant)
    if found is None:
        found = index.targets[variant] = ContractTargets(variant, contract.targets)
    return found


def account_of(policy: Policy, connection: str, organization_id: str) -> Account | None:
    """The account of organization `organization_id` in `connection`, else None."""
    return account_index(policy).of(connection, organization_id)
