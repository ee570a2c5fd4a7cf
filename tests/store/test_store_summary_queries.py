"""The store queries behind `tierdesk explain SUP-5` and the cycle summary, on SQLite and
PostgreSQL: tickets found by id or helpdesk key, and unsent outbox rows counted by reason."""

from __future__ import annotations

from dataclasses import replace

from connector.store.repository import Store
from connector.sync_summary import OutboxTally
from tests.store.test_store_contract import CONN, evaluation, note, record, ticket


def test_tickets_are_found_by_id_or_by_their_helpdesk_key_in_any_case(store: Store) -> None:
    jira = replace(ticket("10005", connection="jira-main"), fields={"key": "SUP-5", "project": "SUP"})
    store.save_pull_page("jira-main", [record(jira)], None)
    store.save_pull_page(CONN, [record(ticket("10005")), record(ticket("77"))], None)

    assert store.find_tickets("sup-5") == [("jira-main", "10005")]
    assert store.find_tickets("10005") == [(CONN, "10005"), ("jira-main", "10005")]
    assert store.find_tickets("77") == [(CONN, "77")]
    assert store.find_tickets("SUP-6") == []


def test_unsent_rows_are_tallied_by_the_reason_they_were_not_sent(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket("101")), record(ticket("gone"))], None)
    store.record_evaluation(evaluation(), [note("warn-50", superseded=True), note("warn-75")])
    store.record_evaluation(evaluation("gone"), [note("g1", "gone"), note("g2", "gone")])
    before = OutboxTally.take(store)

    store.forget_tickets(CONN, ["gone"])

    after = OutboxTally.take(store)
    assert dict(before.skipped) == {"superseded": 1}
    assert dict(after.skipped) == {"superseded": 1, "ticket deleted": 2}
    assert dict(after.skipped - before.skipped) == {"ticket deleted": 2}
    assert after.withdrawn == 0
    assert store.outbox_reasons(["skipped"]) == {
        ("skipped", None): 1,
        ("skipped", "ticket deleted in the helpdesk"): 2,
    }
