"""Settled group holds (`ola_hold`, migration 0005) on SQLite and PostgreSQL: written once, read
by period and by ticket."""

from __future__ import annotations

from datetime import timedelta

from connector.domain.group_clocks import OlaHold
from connector.store.repository import Store
from tests.store.test_store_contract import CONN, T0, record, ticket

H = timedelta(hours=1)


def hold(started_hours: float, held: timedelta, target: timedelta, *, ended: bool = True) -> OlaHold:
    start = T0 + timedelta(hours=started_hours)
    return OlaHold("tier-2", "38000000002", start, start + held if ended else None, held, target)


def test_a_settled_hold_is_written_once_and_keeps_its_target(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None, now=T0)
    assert store.record_ola_holds([(CONN, "101", hold(1, 3 * H, 2 * H))], "v1", T0 + 5 * H) == 1
    # The same hold measured again after the OLA moved to 4h: the record stands.
    assert store.record_ola_holds([(CONN, "101", hold(1, 3 * H, 4 * H))], "v2", T0 + 6 * H) == 0
    [kept] = store.ola_holds_of(CONN, "101")
    assert (kept.held, kept.target, kept.policy_version, kept.within_target) == (3 * H, 2 * H, "v1", False)


def test_running_holds_are_not_settled_and_periods_select_by_end(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None, now=T0)
    holds = [hold(1, H, 2 * H), hold(30, H, 2 * H), hold(40, H, 2 * H, ended=False)]
    assert store.record_ola_holds([(CONN, "101", h) for h in holds], "v1", T0 + 50 * H) == 2
    assert [h.started_at for h in store.ola_holds(T0, T0 + 24 * H)] == [T0 + H]
    assert [h.started_at for h in store.ola_holds(T0, T0 + 48 * H)] == [T0 + H, T0 + 30 * H]


def test_loading_a_ticket_brings_the_keys_of_its_settled_holds(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket()), record(ticket("102"))], None, now=T0)
    store.record_ola_holds([(CONN, "101", hold(1, 3 * H, 2 * H)), (CONN, "101", hold(5, H, 2 * H))], "v1", T0)
    loaded = store.load_tickets(CONN, ["101", "102"])
    assert loaded["101"].settled_holds == {
        ("38000000002", T0 + timedelta(hours=1)),
        ("38000000002", T0 + timedelta(hours=5)),
    }
    assert loaded["102"].settled_holds == frozenset()
