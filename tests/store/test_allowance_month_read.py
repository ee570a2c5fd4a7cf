"""The allowance pass's read of a month's tickets (`connector.allowance_writeback`), on SQLite and
PostgreSQL alike: only the tickets created in the window on the named connections, with the parts
the pass counts by (organization, requester e-mail, fields, creation instant) as stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.allowance_writeback import _created_between
from connector.domain.model import Organization
from connector.store.repository import Store
from tests.store.test_store_contract import CONN, record, ticket

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
ACME = Organization(
    "77", "Acme", external_id="acme-1", tags=frozenset({"enterprise"}), fields={"plan": "gold"}
)


def test_month_read_returns_the_window_s_tickets_with_what_the_pass_counts_by(store: Store) -> None:
    inside = replace(
        ticket("1"),
        created_at=START + timedelta(days=2),
        organization=ACME,
        requester_email="ana@acme.example",
        fields={"360001": "5400"},
    )
    no_org = replace(
        ticket("2"), created_at=END - timedelta(seconds=1), organization=None, requester_email=None, fields={}
    )
    before = replace(ticket("3"), created_at=START - timedelta(seconds=1), organization=ACME)
    after = replace(ticket("4"), created_at=END, organization=ACME)
    elsewhere = replace(ticket("5", connection="other"), created_at=START + timedelta(days=3))
    store.save_pull_page(CONN, [record(t) for t in (inside, no_org, before, after)], None, now=END)
    store.save_pull_page("other", [record(elsewhere)], None, now=END)

    read = {t.id: t for t in _created_between(store, [CONN], START, END)}

    assert sorted(read) == ["1", "2"]
    first = read["1"]
    assert (first.key, first.created_at) == (f"{CONN}:1", inside.created_at)
    assert first.organization == ACME
    assert first.requester_email == "ana@acme.example"
    assert dict(first.fields) == {"360001": "5400"}
    assert read["2"].organization is None
    assert read["2"].requester_email is None
    assert dict(read["2"].fields) == {}
    assert {t.id for t in _created_between(store, [CONN, "other"], START, END)} == {"1", "2", "5"}
