"""The store's part of the SLA record, on SQLite and PostgreSQL alike: settled outcomes written
once, withdrawn escalation steps, the age of each ticket's view, policy activations, and the
migration that settles what an older store already decided."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from connector.domain.model import EventKind, Priority, Status, Ticket
from connector.domain.policy import ActionKind, ApplyTo, Metric
from connector.domain.record import SettledOutcome
from connector.domain.results import Action, ClockState, Crossing, Decision, Evaluation, SlaClock
from connector.ports import TicketRecord
from connector.store import migrate
from connector.store.repository import Store
from connector.store.tables import outbox
from tests.store.test_store_contract import CONN, T0, event, record, ticket

H = timedelta(hours=1)


def outcome(
    state: ClockState = ClockState.BREACHED, *, version: str = "v1", reason: str = "r"
) -> SettledOutcome:
    return SettledOutcome(
        metric=Metric.FIRST_RESPONSE,
        started_at=T0 - H,
        cycle=0,
        state=state,
        decided_at=T0,
        target=H,
        elapsed=H,
        stopped_at=None,
        breached_at=T0 if state is ClockState.BREACHED else None,
        policy_version=version,
        tier="enterprise",
        severity="critical",
        calendar="24x7",
        reason=reason,
        observed_at=T0 + timedelta(seconds=3),
    )


def step(key: str, crossing: str, kind: ActionKind = ActionKind.ADD_NOTE) -> Action:
    return Action(
        key=key,
        connection=CONN,
        ticket_id="101",
        kind=kind,
        value="900" if kind is ActionKind.ASSIGN_GROUP else "breach note",
        marker=f"td-{key}" if kind is ActionKind.ADD_NOTE else None,
        at=T0,
        crossing=crossing,
    )


def evaluation(
    *,
    actions: tuple[Action, ...] = (),
    crossings: tuple[Crossing, ...] = (),
    clocks: tuple[SlaClock, ...] = (),
    decided: tuple[SettledOutcome, ...] = (),
    now: datetime = T0,
) -> Evaluation:
    return Evaluation(
        ticket_key=f"{CONN}:101",
        policy_version="v1",
        now=now,
        tier=Decision("enterprise", rule="r"),
        severity=Decision("critical", rule="r"),
        clocks=clocks,
        crossings=crossings,
        actions=actions,
        desired_tags=frozenset(),
        decided=decided,
    )


def met_clock() -> SlaClock:
    return SlaClock(
        metric=Metric.FIRST_RESPONSE,
        cycle=0,
        started_at=T0 - H,
        stopped_at=T0 - timedelta(minutes=20),
        target=H,
        elapsed=timedelta(minutes=40),
        paused_spans=(),
        due_at=None,
        breached_at=None,
        state=ClockState.MET,
        calendar="24x7",
    )


def test_a_settled_outcome_is_written_once_and_never_replaced(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None, now=T0)
    store.record_evaluation(evaluation(decided=(outcome(reason="first"),)), [])
    store.record_evaluation(evaluation(decided=(outcome(ClockState.MET, version="v2", reason="later"),)), [])
    (kept,) = store.settled_outcomes(CONN, "101")
    assert (kept.state, kept.policy_version, kept.reason, kept.breached_at) == (
        ClockState.BREACHED,
        "v1",
        "first",
        T0,
    )
    assert kept.observed_at == T0 + timedelta(seconds=3)


def test_load_tickets_reads_snapshots_events_views_and_outcomes_in_one_go(store: Store) -> None:
    store.save_pull_page(
        CONN, [record(ticket("101"), event("b", 5), event("a", 5)), record(ticket("102"))], None, now=T0
    )
    store.record_evaluation(evaluation(decided=(outcome(),)), [])
    loaded = store.load_tickets(CONN, ["102", "101", "missing"])
    assert sorted(loaded) == ["101", "102"]
    assert [e.id for e in loaded["101"].events] == ["a", "b"]
    assert loaded["101"].seen_at == T0 and loaded["102"].events == ()
    assert [o.state for o in loaded["101"].settled] == [ClockState.BREACHED] and loaded["102"].settled == ()


def test_the_view_of_a_ticket_is_as_old_as_the_last_time_the_helpdesk_showed_it(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(updated=T0))], None, now=T0)
    store.save_pull_page(CONN, [record(ticket(updated=T0))], None, now=T0 + H)  # shown again, unchanged
    assert store.views(CONN, ["101"]) == {"101": (T0, T0 + H)}
    store.save_pull_page(CONN, [record(ticket(updated=T0 - H))], None, now=T0 + 2 * H)  # an older copy
    assert store.views(CONN, ["101"]) == {"101": (T0, T0 + H)}
    store.mark_seen(CONN, ["101"], T0 + 3 * H)
    assert store.views(CONN, ["101"])["101"][1] == T0 + 3 * H
    store.save_pull_page(CONN, [record(ticket(updated=T0 + 4 * H))], None, now=T0 + 4 * H)
    assert store.views(CONN, ["101"]) == {"101": (T0 + 4 * H, T0 + 4 * H)}


def _status(store: Store, key: str) -> tuple[str, str | None]:
    with store.reading() as db:
        row = db.execute(sa.select(outbox.c.status, outbox.c.last_error).where(outbox.c.key == key)).one()
    return row.status, row.last_error


def test_queued_escalation_steps_whose_crossing_a_newer_evaluation_lacks_are_withdrawn(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket())], None, now=T0)
    warning = step("warn", "first_response:0:50%")
    breach_note = step("breach", "first_response:0:breach")
    reassign = step("reassign", "first_response:0:breach", ActionKind.ASSIGN_GROUP)
    in_flight = step("flight", "first_response:0:breach")
    store.record_evaluation(
        evaluation(actions=(warning, breach_note, reassign, in_flight)),
        [warning, breach_note, reassign, in_flight],
    )
    store.mark_sending(["flight"], now=T0)
    half = Crossing(Metric.FIRST_RESPONSE, 0, "50%", T0, False, 0)
    store.record_evaluation(evaluation(crossings=(half,), clocks=(met_clock(),), now=T0 + H), [])
    reason = "withdrawn: first response was met at 2026-03-02T08:40:00Z, before it reached breach"
    assert _status(store, "breach") == ("withdrawn", reason)
    assert _status(store, "reassign") == ("withdrawn", reason)
    assert _status(store, "warn") == ("pending", None)  # its threshold did happen
    assert _status(store, "flight")[0] == "sending"  # may be on the ticket already: its outcome decides
    assert store.outbox_counts(CONN)["withdrawn"] == 2
    assert sorted(item.action.key for item in store.pending_actions(CONN)) == ["flight", "warn"]


def test_fail_queued_answers_every_pending_action_of_unreadable_tickets(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket("101")), record(ticket("102"))], None, now=T0)
    gone = step("gone", "first_response:0:breach")
    kept = replace(step("kept", "first_response:0:breach"), ticket_id="102")
    store.record_evaluation(evaluation(actions=(gone,)), [gone, kept])
    assert store.fail_queued(CONN, ["101"], "cannot read the ticket", now=T0) == 1
    assert _status(store, "gone") == ("failed", "cannot read the ticket")
    assert [o for o, _, _ in store.audit_log("gone")] == ["failed"]
    assert [item.action.key for item in store.pending_actions(CONN)] == ["kept"]


def test_activations_append_only_when_the_running_version_changes_and_keep_the_files(store: Store) -> None:
    files = {"tiers.yaml": "tiers: {}\n"}
    assert store.record_activation("v1", files, seen_at=T0)
    assert not store.record_activation("v1", files, seen_at=T0 + H)  # a restart on the same version
    assert store.record_activation(
        "v2", {"tiers.yaml": "x"}, seen_at=T0 + 2 * H, effective_from=T0 + 5 * H, apply_to=ApplyTo.RUNNING
    )
    assert store.record_activation("v1", files, seen_at=T0 + 3 * H)  # a revert is a new activation
    found = [(a.version, a.seen_at, a.effective_from, a.apply_to, a.files) for a in store.activations()]
    assert found == [
        ("v1", T0, T0, ApplyTo.NEW, files),
        ("v2", T0 + 2 * H, T0 + 5 * H, ApplyTo.RUNNING, {"tiers.yaml": "x"}),
        ("v1", T0 + 3 * H, T0 + 3 * H, ApplyTo.NEW, files),
    ]


def test_the_upgrade_settles_what_an_older_store_decided(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, upgrade=False)
    migrate.upgrade(old.engine, "0001")
    old.close()
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO ticket_snapshot (connection, ticket_id, updated_at, created_at, status, is_open,"
                " data, stored_at, tier, severity) VALUES ('c', '1', :t, :t, 'open', 1, '{}', :t, 'gold', 'high')"
            ),
            {"t": "2026-03-02 09:00:00.000000"},
        )
        for metric, state, stopped, breached in (
            ("first_response", "met", "2026-03-02 09:10:00.000000", None),
            ("resolution", "breached", None, "2026-03-02 13:00:00.000000"),
            ("next_response", "running", None, None),
        ):
            db.execute(
                sa.text(
                    "INSERT INTO sla_clock (connection, ticket_id, metric, cycle, state, calendar, started_at,"
                    " stopped_at, target, elapsed, due_at, breached_at, paused_spans, policy_version,"
                    " evaluated_at) VALUES ('c', '1', :m, 0, :s, '24x7', '2026-03-02 09:00:00.000000', :stop,"
                    " '1970-01-01 04:00:00.000000', '1970-01-01 00:10:00.000000', NULL, :b, '[]', 'v0',"
                    " '2026-03-02 14:00:00.000000')"
                ),
                {"m": metric, "s": state, "stop": stopped, "b": breached},
            )
    engine.dispose()
    upgraded = Store.open(url)
    try:
        settled = {o.metric: o for o in upgraded.settled_outcomes("c", "1")}
        assert set(settled) == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
        met, breach = settled[Metric.FIRST_RESPONSE], settled[Metric.RESOLUTION]
        assert (met.state, met.decided_at, met.elapsed) == (
            ClockState.MET,
            datetime(2026, 3, 2, 9, 10, tzinfo=UTC),
            timedelta(minutes=10),
        )
        assert (breach.state, breach.decided_at, breach.elapsed, breach.tier) == (
            ClockState.BREACHED,
            datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
            timedelta(hours=4),
            "gold",
        )
        assert upgraded.views("c", ["1"])["1"][1] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    finally:
        upgraded.close()


def test_a_pulled_record_of_an_unchanged_ticket_needs_no_events_to_confirm_the_view(store: Store) -> None:
    """What `SyncService` does after a re-read found a ticket unchanged: the snapshot without events
    counts as shown now; stored events stay."""
    t = Ticket(
        connection=CONN, id="7", created_at=T0, updated_at=T0, status=Status.OPEN, priority=Priority.LOW
    )
    store.save_pull_page(
        CONN, [TicketRecord(t, (event("x", 1, EventKind.PUBLIC_AGENT_REPLY),))], None, now=T0
    )
    store.save_pull_page(CONN, [TicketRecord(t, ())], None, now=T0 + H)
    loaded = store.load_tickets(CONN, ["7"])["7"]
    assert ([e.id for e in loaded.events], loaded.seen_at) == (["x"], T0 + H)


def test_a_pages_basis_and_snapshots_are_read_without_the_rest_of_the_ticket(store: Store) -> None:
    """What the own-write-back check and the page's save read: the stored `updated_at`, evaluated
    version and event ids of every pulled ticket, snapshots only of the tickets asked for; tickets
    not stored are left out of all of them."""
    store.save_pull_page(
        CONN,
        [
            record(ticket("101"), event("a", 1), event("b", 2)),
            record(ticket("102", subject="Fax", updated=T0 + timedelta(hours=1)), event("c", 3)),
        ],
        None,
        now=T0,
    )
    store.mark_evaluated(CONN, ["102"], "v7")
    basis = store.page_basis(CONN, ["101", "102", "404"])
    snapshots = store.snapshots(CONN, ["102", "404"])
    assert basis.event_ids == {"101": {"a", "b"}, "102": {"c"}}
    assert basis.updated == {"101": ticket("101").updated_at, "102": T0 + timedelta(hours=1)}
    assert basis.evaluated == {"102": "v7"}  # 101 waits for its first evaluation
    assert list(snapshots) == ["102"] and snapshots["102"] == ticket(
        "102", subject="Fax", updated=T0 + timedelta(hours=1)
    )
