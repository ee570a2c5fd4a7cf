"""The store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import ActionKind, Metric
from connector.domain.results import Action, ClockState, Decision, Evaluation, SlaClock, Span
from connector.ports import ActionResult, Outcome, TicketRecord
from connector.store import migrate, tables
from connector.store.repository import Store

CONN = "acme_zd"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def ticket(
    ticket_id: str = "101",
    *,
    updated: datetime = T0,
    status: Status = Status.OPEN,
    subject: str = "Printer on fire",
    connection: str = CONN,
) -> Ticket:
    return Ticket(
        connection=connection,
        id=ticket_id,
        created_at=T0 - timedelta(hours=1),
        updated_at=updated,
        status=status,
        subject=subject,
        priority=Priority.HIGH,
        requester_email="ops@example.com",
        organization=Organization(
            id="7", name="Acme", tags=frozenset({"gold", "emea"}), fields={"plan": "e"}
        ),
        tags=frozenset({"vip", "billing"}),
        fields={"12345": "enterprise"},
        follower_ids=frozenset({"9", "3"}),
    )


def event(event_id: str, minutes: int, kind: EventKind = EventKind.PUBLIC_CUSTOMER_COMMENT) -> Event:
    return Event(id=event_id, at=T0 + timedelta(minutes=minutes), kind=kind, author_id="u1")


def record(t: Ticket, *evts: Event) -> TicketRecord:
    return TicketRecord(ticket=t, events=tuple(evts))


def note(key: str, ticket_id: str = "101", *, superseded: bool = False) -> Action:
    return Action(
        key=key,
        connection=CONN,
        ticket_id=ticket_id,
        kind=ActionKind.ADD_NOTE,
        value=f"SLA note {key}",
        marker=f"td-{key}",
        reason="first_response 75%",
        superseded=superseded,
        basis=T0,
    )


def clock(metric: Metric = Metric.FIRST_RESPONSE, cycle: int = 0, *, elapsed_min: int = 30) -> SlaClock:
    return SlaClock(
        metric=metric,
        cycle=cycle,
        started_at=T0,
        stopped_at=None,
        target=timedelta(hours=4),
        elapsed=timedelta(minutes=elapsed_min, microseconds=250),
        paused_spans=(Span(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=10)),),
        due_at=T0 + timedelta(hours=4),
        breached_at=None,
        state=ClockState.RUNNING,
        calendar="24x7",
    )


def evaluation(
    ticket_id: str = "101",
    *,
    version: str = "v1",
    next_deadline: datetime | None = None,
    clocks: tuple[SlaClock, ...] = (),
    now: datetime = T0,
) -> Evaluation:
    return Evaluation(
        ticket_key=f"{CONN}:{ticket_id}",
        policy_version=version,
        now=now,
        tier=Decision("enterprise", rule="org-tag-gold"),
        severity=Decision("high", rule=None),
        clocks=clocks,
        crossings=(),
        actions=(),
        desired_tags=frozenset(),
        next_deadline=next_deadline,
    )


# -- pull --------------------------------------------------------------------------------------


def test_cursor_persists_across_reopen(store_url: str) -> None:
    first = Store.open(store_url)
    first.save_pull_page(CONN, [record(ticket())], "cursor-2")
    first.save_pull_page("other", [], "elsewhere")
    first.save_pull_page(CONN, [], None)  # a page without a cursor keeps the stored one
    first.close()

    reopened = Store.open(store_url)
    try:
        assert reopened.get_cursor(CONN) == "cursor-2"
        assert reopened.get_cursor("other") == "elsewhere"
        assert reopened.get_cursor("never-pulled") is None
    finally:
        reopened.close()


def test_ticket_round_trips_through_the_store(store: Store) -> None:
    original = ticket(updated=datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN))
    store.save_pull_page(CONN, [record(original, event("e1", 1))], "c1")

    loaded = store.load_ticket(CONN, "101")

    assert loaded is not None
    assert loaded[0] == original
    assert loaded[1] == (event("e1", 1),)
    assert store.load_ticket(CONN, "missing") is None


def test_upsert_ignores_an_older_snapshot(store: Store) -> None:
    assert store.save_pull_page(CONN, [record(ticket(updated=T0, subject="new"))], "c1") == [f"{CONN}:101"]

    changed = store.save_pull_page(
        CONN, [record(ticket(updated=T0 - timedelta(minutes=5), subject="old"))], "c2"
    )
    same = store.save_pull_page(CONN, [record(ticket(updated=T0, subject="same instant"))], "c3")

    loaded = store.load_ticket(CONN, "101")
    assert loaded is not None
    assert loaded[0].subject == "new"
    assert changed == []
    assert same == []
    assert store.get_cursor(CONN) == "c3"


def test_newer_snapshot_replaces_and_reports_change(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(updated=T0))], "c1")

    changed = store.save_pull_page(
        CONN, [record(ticket(updated=T0 + timedelta(minutes=1), status=Status.PENDING))], "c2"
    )

    loaded = store.load_ticket(CONN, "101")
    assert changed == [f"{CONN}:101"]
    assert loaded is not None
    assert loaded[0].status is Status.PENDING


def test_same_ticket_twice_in_a_page_keeps_the_newest(store: Store) -> None:
    newest = ticket(updated=T0 + timedelta(minutes=2), subject="second")
    store.save_pull_page(
        CONN, [record(newest, event("e2", 2)), record(ticket(subject="first"), event("e1", 1))], "c"
    )

    loaded = store.load_ticket(CONN, "101")
    assert loaded is not None
    assert loaded[0].subject == "second"
    assert [e.id for e in loaded[1]] == ["e1", "e2"]


def test_event_merge_deduplicates_by_id(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(), event("e1", 1), event("e2", 2))], "c1")

    # Same snapshot again, one known event and one new: the ticket changed because of the event.
    changed = store.save_pull_page(CONN, [record(ticket(), event("e2", 2), event("e3", 3))], "c2")
    unchanged = store.save_pull_page(CONN, [record(ticket(), event("e1", 1))], "c3")

    loaded = store.load_ticket(CONN, "101")
    assert loaded is not None
    assert [e.id for e in loaded[1]] == ["e1", "e2", "e3"]
    assert changed == [f"{CONN}:101"]
    assert unchanged == []


def test_an_event_keeps_the_value_it_replaced_and_whether_it_opened_the_ticket(store: Store) -> None:
    change = Event("p1", T0, EventKind.PRIORITY_CHANGE, value="urgent", previous="", by_tierdesk=True)
    opening = Event("c1", T0, EventKind.PUBLIC_AGENT_REPLY, author_id="a1", opening=True)
    store.save_pull_page(CONN, [record(ticket(), change, opening)], None)

    loaded = store.load_ticket(CONN, "101")

    assert loaded is not None
    assert sorted(loaded[1], key=lambda e: e.id) == [opening, change]


def test_an_event_stored_before_previous_and_opening_existed_reads_them_as_not_known(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(), event("e1", 1, EventKind.PUBLIC_AGENT_REPLY))], None)
    with store.engine.begin() as connection:
        (payload,) = connection.execute(sa.select(tables.events.c.payload)).scalars()
        older = {k: v for k, v in payload.items() if k not in ("previous", "opening")}
        connection.execute(sa.update(tables.events).values(payload=older))

    loaded = store.load_ticket(CONN, "101")

    assert loaded is not None
    assert [(e.previous, e.opening) for e in loaded[1]] == [(None, None)]


def test_events_are_ordered_by_time_not_arrival(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(), event("late", 30))], None)
    store.save_pull_page(CONN, [record(ticket(), event("early", 3))], None)

    loaded = store.load_ticket(CONN, "101")
    assert loaded is not None
    assert [e.id for e in loaded[1]] == ["early", "late"]


def test_a_ticket_of_another_connection_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="pulled for connection"):
        store.save_pull_page(CONN, [record(ticket(connection="jira_main"))], "c1")
    assert store.get_cursor(CONN) is None


def test_forgotten_tickets_leave_and_their_queued_actions_are_skipped(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket("gone"), event("e1", 1)), record(ticket("kept"))], None)
    store.record_evaluation(evaluation("gone", next_deadline=T0, clocks=(clock(),)), [note("g1", "gone")])

    assert store.forget_tickets(CONN, ["gone", "never-stored"]) == 1

    assert store.load_ticket(CONN, "gone") is None
    assert store.load_clocks(CONN, "gone") == ()
    assert store.tickets_due_before(T0) == []
    assert store.pending_actions(CONN, 10) == []
    assert store.existing_keys(["g1"]) == {"g1"}
    assert store.load_ticket(CONN, "kept") is not None


# -- time ----------------------------------------------------------------------------------------


def test_instants_come_back_timezone_aware_in_utc(store: Store) -> None:
    berlin_deadline = datetime(2026, 3, 30, 17, 0, tzinfo=BERLIN)  # 15:00 UTC, after the DST switch
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(next_deadline=berlin_deadline, clocks=(clock(),)), [])

    deadline = store.earliest_deadline()
    (loaded_clock,) = store.load_clocks(CONN, "101")

    assert deadline == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)
    assert deadline is not None
    assert deadline.tzinfo is UTC
    assert loaded_clock.started_at.tzinfo is UTC
    assert loaded_clock.due_at == T0 + timedelta(hours=4)


def test_naive_datetimes_are_refused(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.tickets_due_before(datetime(2026, 3, 2, 9, 0))


# -- evaluation and deadlines --------------------------------------------------------------------


def test_clocks_are_replaced_by_each_evaluation(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(clocks=(clock(Metric.FIRST_RESPONSE), clock(Metric.RESOLUTION))), [])

    latest = (clock(Metric.RESOLUTION, elapsed_min=45), clock(Metric.NEXT_RESPONSE, cycle=1))
    store.record_evaluation(evaluation(version="v2", clocks=latest), [])

    assert store.load_clocks(CONN, "101") == (latest[1], latest[0])  # by metric, then cycle


def test_evaluating_an_unknown_ticket_raises(store: Store) -> None:
    with pytest.raises(KeyError, match="not in the store"):
        store.record_evaluation(evaluation("nope"), [note("k1", "nope")])
    assert store.existing_keys(["k1"]) == set()


def test_record_evaluations_writes_a_batch_all_or_nothing(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket("a")), record(ticket("b"))], None)
    batch = [
        (evaluation("a", version="v2", next_deadline=T0, clocks=(clock(),)), [note("a-1", "a")]),
        (
            evaluation("b", version="v2", next_deadline=T0 + timedelta(hours=1)),
            [note("b-1", "b"), note("a-1", "a")],
        ),
    ]

    with pytest.raises(KeyError, match="ghost"):
        store.record_evaluations([*batch, (evaluation("ghost"), [])])
    assert store.existing_keys(["a-1", "b-1"]) == set()

    assert store.record_evaluations(batch) == 2
    assert store.tickets_needing_evaluation("v2") == []
    assert store.tickets_due_before(T0 + timedelta(hours=1)) == [f"{CONN}:a", f"{CONN}:b"]
    assert len(store.load_clocks(CONN, "a")) == 1


def test_tickets_due_before_uses_next_deadline(store: Store) -> None:
    store.save_pull_page(
        CONN,
        [
            record(ticket("soon")),
            record(ticket("later")),
            record(ticket("none")),
            record(ticket("solved", status=Status.SOLVED)),
        ],
        None,
    )
    store.record_evaluation(evaluation("soon", next_deadline=T0 + timedelta(minutes=10)), [])
    store.record_evaluation(evaluation("later", next_deadline=T0 + timedelta(hours=2)), [])
    store.record_evaluation(evaluation("none", next_deadline=None), [])
    store.record_evaluation(evaluation("solved", next_deadline=T0), [])

    assert store.tickets_due_before(T0 + timedelta(minutes=10)) == [f"{CONN}:soon"]
    assert store.tickets_due_before(T0 + timedelta(hours=3)) == [f"{CONN}:soon", f"{CONN}:later"]
    assert store.tickets_due_before(T0 + timedelta(hours=3), connection="other") == []
    assert store.earliest_deadline() == T0 + timedelta(minutes=10)


def test_tickets_needing_evaluation_follow_version_and_changes(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket("a")), record(ticket("b")), record(ticket("done"))], None)
    assert store.tickets_needing_evaluation("v1") == [f"{CONN}:a", f"{CONN}:b", f"{CONN}:done"]

    for ticket_id in ("a", "b", "done"):
        store.record_evaluation(evaluation(ticket_id, version="v1"), [])
    store.save_pull_page(
        CONN, [record(ticket("done", updated=T0 + timedelta(hours=1), status=Status.SOLVED))], None
    )
    assert store.tickets_needing_evaluation("v1") == [f"{CONN}:done"]  # changed since evaluated

    store.record_evaluation(evaluation("done", version="v1"), [])
    assert store.tickets_needing_evaluation("v1") == []
    # A new policy re-evaluates open tickets only; the solved one keeps its version.
    assert store.tickets_needing_evaluation("v2") == [f"{CONN}:a", f"{CONN}:b"]
    assert store.tickets_needing_evaluation("v0") == [f"{CONN}:a", f"{CONN}:b"]

    store.save_pull_page(CONN, [record(ticket("b"), event("new", 5))], None)  # a new event only
    assert store.tickets_needing_evaluation("v1") == [f"{CONN}:b"]


def test_iter_open_tickets_reads_every_open_ticket_in_batches(store: Store) -> None:
    ids = [f"t{n:02d}" for n in range(7)]
    store.save_pull_page(CONN, [record(ticket(i)) for i in ids], None)
    store.save_pull_page("other", [record(ticket("x", connection="other"))], None)
    store.save_pull_page(CONN, [record(ticket("closed", status=Status.CLOSED))], None)

    assert [t.id for t in store.iter_open_tickets(CONN, batch=3)] == ids
    assert [t.key for t in store.iter_open_tickets(batch=2)] == [f"{CONN}:{i}" for i in ids] + ["other:x"]


# -- outbox ------------------------------------------------------------------------------------


def test_an_outbox_key_is_queued_once(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)

    first = store.record_evaluation(evaluation(), [note("k1"), note("k1"), note("k2")])
    again = store.record_evaluation(evaluation(now=T0 + timedelta(minutes=1)), [note("k1"), note("k2")])

    assert (first, again) == (2, 0)
    assert [item.action.key for item in store.pending_actions(CONN, 10)] == ["k1", "k2"]
    assert store.outbox_counts()["pending"] == 2


def test_an_applied_key_is_never_requeued(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(), [note("k1")])
    store.mark_sending(["k1"])
    store.record_results([ActionResult("k1", Outcome.APPLIED)])

    assert store.record_evaluation(evaluation(version="v2"), [note("k1")]) == 0
    assert store.pending_actions(CONN, 10) == []
    assert store.outbox_counts()["applied"] == 1


def test_many_outcomes_of_one_kind_are_recorded_in_one_batch(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    keys = [f"k{i}" for i in range(50)]
    store.record_evaluation(evaluation(), [note(k) for k in keys])
    store.mark_sending(keys)
    store.record_results(
        [ActionResult(k, Outcome.APPLIED) for k in keys[:40]]
        + [ActionResult(k, Outcome.RETRY, "429") for k in keys[40:]]
    )

    counts = store.outbox_counts()
    assert (counts["applied"], counts["pending"]) == (40, 10)


def test_superseded_notes_are_stored_as_skipped(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)

    queued = store.record_evaluation(evaluation(), [note("warn-50", superseded=True), note("warn-75")])

    assert queued == 1  # the superseded note is stored as skipped, not counted as queued to send
    assert [item.action.key for item in store.pending_actions(CONN, 10)] == ["warn-75"]
    assert store.existing_keys(["warn-50", "warn-75", "other"]) == {"warn-50", "warn-75"}
    assert store.outbox_statuses(["warn-50", "warn-75", "other"]) == {
        "warn-50": "skipped",
        "warn-75": "pending",
    }
    counts = store.outbox_counts()
    assert (counts["skipped"], counts["pending"]) == (1, 1)


def test_pending_actions_keep_planned_order_and_round_trip(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    tags = Action(
        key="tags",
        connection=CONN,
        ticket_id="101",
        kind=ActionKind.ADD_TAGS,
        values=("tier_enterprise", "sev_high"),
    )
    store.record_evaluation(evaluation(), [note("n2"), tags, note("n1")])
    store.record_evaluation(evaluation(now=T0 + timedelta(minutes=1)), [note("n0")])

    items = store.pending_actions(CONN, 3)

    assert [item.action for item in items] == [note("n2"), tags, note("n1")]
    assert all(item.attempts == 0 and not item.uncertain for item in items)
    assert store.pending_actions("other", 10) == []


def test_mark_sending_leaves_actions_uncertain_after_a_crash(store_url: str) -> None:
    before = Store.open(store_url)
    before.save_pull_page(CONN, [record(ticket())], None)
    before.record_evaluation(evaluation(), [note("k1"), note("k2")])
    before.mark_sending(["k1"])
    before.close()  # the process dies during the HTTP call: no outcome recorded

    after = Store.open(store_url)
    try:
        items = {item.action.key: item for item in after.pending_actions(CONN, 10)}
        assert (items["k1"].uncertain, items["k1"].attempts) == (True, 1)
        assert (items["k2"].uncertain, items["k2"].attempts) == (False, 0)
        assert after.outbox_counts()["sending"] == 1
    finally:
        after.close()


def test_retry_returns_to_pending_and_stays_uncertain(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(), [note("k1")])
    store.mark_sending(["k1"])

    store.record_results([ActionResult("k1", Outcome.RETRY, "503 after 4 attempts")])
    store.mark_sending(["k1"])
    store.record_results([ActionResult("k1", Outcome.RETRY, "timeout")])

    (item,) = store.pending_actions(CONN, 10)
    assert (item.uncertain, item.attempts) == (True, 2)
    assert store.outbox_counts()["pending"] == 1
    assert [entry[0] for entry in store.audit_log("k1")] == ["retry", "retry"]


def test_conflict_requeues_and_clears_uncertainty_only_when_nothing_was_written(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(), [note("rejected"), note("maybe")])
    store.mark_sending(["rejected", "maybe"])

    store.record_results(
        [
            ActionResult("rejected", Outcome.CONFLICT, "409: ticket updated by agent"),
            ActionResult("maybe", Outcome.CONFLICT, "409 after a timed-out attempt", uncertain=True),
        ]
    )

    items = {item.action.key: item for item in store.pending_actions(CONN, 10)}
    assert (items["rejected"].uncertain, items["maybe"].uncertain) == (False, True)
    assert store.outbox_counts()["pending"] == 2


def test_retry_marks_a_send_that_may_have_landed_uncertain(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(), [note("k1"), note("k2")])

    # Pushed without mark_sending: the plugin's word decides.
    store.record_results(
        [
            ActionResult("k1", Outcome.RETRY, "read timeout", uncertain=True),
            ActionResult("k2", Outcome.RETRY, "429"),
        ]
    )

    items = {item.action.key: item for item in store.pending_actions(CONN, 10)}
    assert (items["k1"].uncertain, items["k2"].uncertain) == (True, False)


def test_final_outcomes_clear_uncertainty_and_are_audited(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    store.record_evaluation(evaluation(), [note("ok"), note("seen"), note("bad")])
    store.mark_sending(["ok", "seen", "bad"])
    at = T0 + timedelta(minutes=3)

    store.record_results(
        [
            ActionResult("ok", Outcome.APPLIED),
            ActionResult("seen", Outcome.ALREADY_APPLIED, "marker found"),
            ActionResult("bad", Outcome.FAILED, "422 invalid group"),
        ],
        now=at,
    )
    # A late duplicate outcome for a finished action is audited but changes nothing.
    store.record_results([ActionResult("ok", Outcome.RETRY, "stale")], now=at)

    counts = store.outbox_counts()
    assert (counts["applied"], counts["already_applied"], counts["failed"], counts["pending"]) == (1, 1, 1, 0)
    assert store.pending_actions(CONN, 10) == []
    assert store.audit_log("bad") == [("failed", at, "422 invalid group")]
    assert [entry[0] for entry in store.audit_log("ok")] == ["applied", "retry"]


def test_mark_sending_refuses_to_run_inside_a_transaction(store: Store) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="outside transaction"):
        store.mark_sending(["k1"])


# -- units of work -------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_transaction_rollback_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(Boom), store.transaction():
        store.save_pull_page(CONN, [record(ticket(), event("e1", 1))], "c1")
        store.record_evaluation(evaluation(next_deadline=T0, clocks=(clock(),)), [note("k1")])
        store.set_meta("last_cycle", "x")
        raise Boom

    assert store.load_ticket(CONN, "101") is None
    assert store.get_cursor(CONN) is None
    assert store.existing_keys(["k1"]) == set()
    assert store.load_clocks(CONN, "101") == ()
    assert store.get_meta("last_cycle") is None
    assert sum(store.outbox_counts().values()) == 0


def test_transaction_commits_clocks_outbox_and_cursor_together(store_url: str) -> None:
    writer = Store.open(store_url)
    reader = Store.open(store_url, upgrade=False)
    try:
        with writer.transaction():
            writer.save_pull_page(CONN, [record(ticket())], "c1")
            with writer.transaction():  # nested blocks join the outer unit of work
                writer.record_evaluation(evaluation(clocks=(clock(),)), [note("k1")])
            assert reader.get_cursor(CONN) is None  # nothing visible before commit
            assert reader.existing_keys(["k1"]) == set()

        assert reader.get_cursor(CONN) == "c1"
        assert reader.existing_keys(["k1"]) == {"k1"}
        assert len(reader.load_clocks(CONN, "101")) == 1
    finally:
        reader.close()
        writer.close()


def test_another_thread_does_not_join_a_transaction(store: Store) -> None:
    seen: list[str | None] = []
    with store.transaction():
        store.save_pull_page(CONN, [], "c1")
        reader = threading.Thread(target=lambda: seen.append(store.get_cursor(CONN)))
        reader.start()
        reader.join(timeout=10)

    assert seen == [None]  # the other thread read committed state only
    assert store.get_cursor(CONN) == "c1"


def test_concurrent_writers_queue_instead_of_failing(store: Store) -> None:
    errors: list[BaseException] = []

    def pull(connection: str) -> None:
        try:
            for page in range(5):
                records = [record(ticket(f"{page}-{n}", connection=connection)) for n in range(20)]
                store.save_pull_page(connection, records, f"{connection}-{page}")
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=pull, args=(name,)) for name in ("zd_a", "zd_b", "zd_c")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert errors == []
    assert [store.get_cursor(name) for name in ("zd_a", "zd_b", "zd_c")] == ["zd_a-4", "zd_b-4", "zd_c-4"]
    assert sum(1 for _ in store.iter_open_tickets()) == 300


def test_reading_sees_one_state_of_the_store(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], "c1")
    writer = Store.open(store.url.render_as_string(hide_password=False), upgrade=False)
    try:
        with store.reading() as db:
            before = db.execute(sa.select(sa.func.count()).select_from(tables.tickets)).scalar_one()
            writer.save_pull_page(CONN, [record(ticket("102"))], "c2")
            after = db.execute(sa.select(sa.func.count()).select_from(tables.tickets)).scalar_one()
        assert (before, after) == (1, 1)
        assert sum(1 for _ in store.iter_open_tickets()) == 2
    finally:
        writer.close()


# -- schema --------------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_match_the_tables(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        store.save_pull_page(CONN, [record(ticket())], "c1")

        store.upgrade()
        Store.open(store_url).close()  # opening upgrades again

        assert store.schema_revision() == migrate.head_revision()
        assert store.get_cursor(CONN) == "c1"
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, tables.metadata) == []
    finally:
        store.close()


def test_open_without_upgrade_leaves_an_empty_database_alone(store_url: str) -> None:
    bare = Store.open(store_url, upgrade=False)
    try:
        assert bare.schema_revision() is None
        bare.upgrade()
        assert bare.schema_revision() == migrate.head_revision()
    finally:
        bare.close()


def test_policy_versions_and_meta(store: Store) -> None:
    assert store.record_policy_version("abc123", {"tiers": ["gold"]}, now=T0)
    assert not store.record_policy_version("abc123", None, now=T0 + timedelta(days=1))
    store.set_meta("schema_note", "one")
    store.set_meta("schema_note", "two")

    assert store.policy_versions_seen() == [("abc123", T0)]
    assert store.get_meta("schema_note") == "two"


def test_a_new_plan_retires_unsent_state_diffs_of_the_same_ticket(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None)
    stale_tags = Action("tags-old", CONN, "101", ActionKind.ADD_TAGS, values=("sla_warning",), basis=T0)
    escalation = Action("note-75", CONN, "101", ActionKind.ADD_NOTE, value="75%", marker="td-1", at=T0)
    store.record_evaluation(evaluation(), [stale_tags, escalation])
    fresh = Action(
        "tags-new",
        CONN,
        "1",
        ActionKind.REMOVE_TAGS,
        values=("sla_warning",),
        basis=T0 + timedelta(minutes=5),
    )

    store.record_evaluation(evaluation(now=T0 + timedelta(minutes=6)), [fresh, escalation])

    assert store.outbox_statuses(["tags-old", "note-75", "tags-new"]) == {
        "tags-old": "skipped",
        "note-75": "pending",
        "tags-new": "pending",
    }
