"""The sync use case: pull -> normalise -> evaluate -> plan -> outbox -> push -> record.

Transactions: each pulled page is stored together with its cursor, the evaluations of the tickets
it changed and the outbox rows they planned, in ONE transaction. Pushing starts by committing the
`sending` mark, then calls the helpdesk, then records outcomes; a crash in between leaves the
actions queued and flagged uncertain, and the plugin checks the ticket before re-sending a note.

Verify before acting: no escalation step is pushed for a ticket whose stored view is older than
`verify_within` (a few seconds). Such tickets are re-read first and evaluated again
(`connector.fresh_views`): escalation steps whose threshold the fresh view does not have are
withdrawn with the reason, breaches the fresh view confirms are settled, and only then is the rest
sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from connector.allowance_writeback import queue_over_allowance
from connector.domain.engine import evaluate
from connector.domain.group_clocks import OlaHold
from connector.domain.policy import ActionKind
from connector.domain.results import Action, Evaluation
from connector.fresh_views import FreshViews
from connector.notify.dispatch import send_notifications
from connector.ola_clocks import ended_holds
from connector.own_writes import own_write_backs
from connector.policy_holder import PolicyHolder
from connector.policy_versions import PolicyVersions
from connector.ports import ActionResult, Clock, Helpdesk, Leadership, Notifier, OutboxItem, Outcome
from connector.progress import CycleProgress
from connector.retry import HelpdeskError, TransientError
from connector.stopping import StopSignal
from connector.store.repository import Store, split_ticket_key
from connector.store.unit import chunks
from connector.sync_summary import CycleReport, OutboxTally, finish_cycle, summary_fields

FINAL_OUTCOMES = frozenset({Outcome.APPLIED, Outcome.ALREADY_APPLIED, Outcome.FAILED})
PUSH_MAX_BATCHES = 20  # batches one push of the whole queue sends

log = structlog.get_logger("tierdesk.sync")


class SyncService:
    def __init__(
        self,
        store: Store,
        helpdesks: Mapping[str, Helpdesk],
        policies: PolicyHolder,
        clock: Clock,
        *,
        push_batch: int = 500,
        verify_within: timedelta = timedelta(seconds=5),
        on_evaluated: Callable[[Evaluation], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        self.helpdesks = dict(helpdesks)
        self.policies = policies
        self.versions = PolicyVersions(store, policies)
        self.clock = clock
        self.push_batch = push_batch
        self.verify_within = verify_within
        self.on_evaluated = on_evaluated
        self.notifier = notifier
        self.stopping = False  # set by the worker on SIGTERM: finish the current batch, start no new one
        # set by the worker: True when a push of the whole queue should give way after its batch
        self.yield_push: Callable[[], bool] | None = None
        # set by the worker: what waits for its one job thread (a webhook's tickets, a deadline),
        # served between a long pull's pages and during the retry waits for the next one, so the
        # pull goes on afterwards without losing its place (`connector.scheduler`)
        self.waiting_work: Callable[[], None] | None = None
        # what the adapters' retry waits sleep on (set by `build_app`)
        self.waits: StopSignal | None = None
        # Several workers on one database (`connector.store.leases`; set by the worker): pull only
        # while leading the connection, push only outbox rows claimed under `claim_owner`.
        self.leadership: Leadership | None = None
        self.claim_owner: str | None = None
        self.claim_seconds = 120.0
        # rows one claim takes: small enough that several workers share a connection's queue
        self.claim_batch = 200
        # how often the allowance pass reads the month's tickets of each account with an allowance;
        # while the queue holds more than one push sends, at most every `allowance_backlog_every`
        self.allowance_every = timedelta(minutes=5)
        self.allowance_backlog_every = timedelta(hours=1)
        self._allowance_at: datetime | None = None
        self._started: dict[str, datetime] = {}  # `connection_started`, once read from the store
        self.fresh = FreshViews(self)

    # -- evaluate ---------------------------------------------------------------------------

    def connection_started(self, connection: str, now: datetime) -> datetime:
        """When tierdesk first synced `connection` (recorded on first use, never changed after:
        kept in memory once read)."""
        known = self._started.get(connection)
        if known is not None:
            return known
        key = f"started:{connection}"
        stored = self.store.get_meta(key)
        if stored is None:
            self.store.set_meta(key, now.isoformat())
            return now  # not kept: the transaction that records it may still roll back
        started = self._started[connection] = datetime.fromisoformat(stored)
        return started

    def _backlog_filter(self, actions: Sequence[Action], started: datetime) -> list[Action]:
        """Escalations of thresholds crossed before tierdesk first synced the connection are kept
        as skipped rows, not sent: connecting to a helpdesk with a backlog must not flood agents
        with stale warnings (tags, fields and priority still show the true state)."""
        return [replace(a, superseded=True) if a.at is not None and a.at < started else a for a in actions]

    def evaluate_keys(self, keys: Iterable[str], now: datetime) -> CycleReport:
        """Re-evaluate tickets by key and queue their actions (inside the caller's transaction,
        if any). Tickets that are not stored are skipped. Each ticket is evaluated with its settled
        outcomes and the age of its view (`seen_at`), so what it decides is settled only when the
        helpdesk showed the ticket after the deciding instant."""
        report = CycleReport()
        history = self.versions.history(now)
        by_connection: dict[str, list[str]] = {}
        for key in keys:
            connection, ticket_id = split_ticket_key(key)
            by_connection.setdefault(connection, []).append(ticket_id)
        batch: list[tuple[Evaluation, Sequence[Action]]] = []
        holds: list[tuple[str, str, OlaHold]] = []
        for connection, ticket_ids in by_connection.items():
            loaded = self.store.load_tickets(connection, ticket_ids)
            if not loaded:
                continue
            started = self.connection_started(connection, now)
            for ticket_id in ticket_ids:
                item = loaded.get(ticket_id)
                if item is None:
                    continue
                evaluation = evaluate(
                    item.ticket, item.events, history, now, settled=item.settled, observed_at=item.seen_at
                )
                batch.append((evaluation, self._backlog_filter(evaluation.actions, started)))
                holds += [
                    ended
                    for ended in ended_holds(connection, item.ticket, item.events, history.current, now)
                    if (ended[2].group_id, ended[2].started_at) not in item.settled_holds
                ]
                report.evaluated += 1
                report.settled += len(evaluation.decided)
                if self.on_evaluated is not None:
                    self.on_evaluated(evaluation)
        report.queued += self.store.record_evaluations(batch)
        if holds:
            self.store.record_ola_holds(holds, history.current.version, now)
        return report

    def evaluate_due(
        self,
        now: datetime | None = None,
        progress: CycleProgress | None = None,
        connections: Collection[str] | None = None,
    ) -> CycleReport:
        """Tickets whose next threshold has come, plus those never evaluated under the current
        policy version (a policy edit re-applies to open tickets; closed ones keep their result);
        only those of `connections` when given (the ones this worker leads)."""
        now = now or self.clock.now()
        self.versions.history(now)  # the running version is recorded before anything uses it
        keys = dict.fromkeys(self.store.tickets_due_before(now))
        keys.update(dict.fromkeys(self.store.tickets_needing_evaluation(self.policies.policy.version)))
        if connections is not None:
            keys = {key: None for key in keys if split_ticket_key(key)[0] in connections}
        report = CycleReport()
        if progress is not None and keys:
            progress.update("evaluate", "", 0, len(keys))
        batch: list[str] = []
        done = 0
        for key in keys:
            batch.append(key)
            if len(batch) >= 200:
                with self.store.transaction():
                    report.merge(self.evaluate_keys(batch, now))
                done += len(batch)
                batch = []
                if progress is not None:
                    progress.update("evaluate", "", done, len(keys))
        if batch:
            with self.store.transaction():
                report.merge(self.evaluate_keys(batch, now))
            if progress is not None:
                progress.update("evaluate", "", len(keys), len(keys))
        return report

    def allowance_pass(self, now: datetime | None = None) -> int:
        """Queue the over-allowance tags and notes (`connector.allowance_writeback`), at most every
        `allowance_every`; returns how many actions were new.

        While the outbox holds more than one push sends (`push_batch` x `PUSH_MAX_BATCHES`: a
        first sync's backlog), the pass runs at most every `allowance_backlog_every`: what it
        queues would wait behind that backlog anyway, and each pass reads the whole month, so a
        backlog pushed over many cycles made the pass cost cycles x tickets."""
        policy = self.policies.policy
        if not policy.accounts:
            return 0
        now = now or self.clock.now()
        if self._allowance_at is not None:
            since = now - self._allowance_at
            if since < self.allowance_every:
                return 0
            backlog = self.store.queued_count() >= self.push_batch * PUSH_MAX_BATCHES
            if backlog and since < self.allowance_backlog_every:
                return 0
        self._allowance_at = now
        return queue_over_allowance(self.store, policy, now)

    # -- pull -------------------------------------------------------------------------------

    def pull(self, connection: str, progress: CycleProgress | None = None) -> CycleReport:
        """Pull every page the helpdesk has since the stored cursor."""
        helpdesk = self.helpdesks[connection]
        report = CycleReport()
        calls_before = helpdesk.api_calls
        cursor = self.store.get_cursor(connection)
        # committed before the first page: a crash mid-pull must not move the backlog boundary
        self.connection_started(connection, self.clock.now())
        total: int | None = None
        if progress is not None:
            progress.update("pull", connection, 0, None)
        pages = iter(helpdesk.pull(cursor))
        while True:
            with self._serving():
                page = next(pages, None)
            if page is None:
                break
            if self.leadership is not None and not self.leadership.holds(connection):
                log.warning("pull leadership lost; this worker stops pulling", connection=connection)
                break  # the page is not stored: the new leader pulls it from the stored cursor
            total = page.total if page.total is not None else total
            if total is not None:  # helpdesk counts are approximate: never show more done than total
                total = max(total, report.pulled + len(page.records))
            now = self.clock.now()
            with self.store.transaction():
                version = self.policies.policy.version
                basis = self.store.page_basis(connection, [record.ticket.id for record in page.records])
                own = own_write_backs(self.store, connection, page.records, version, basis)
                changed = self.store.save_pull_page(
                    connection, page.records, page.cursor, now=now, basis=basis
                )
                if own:  # stored (the new basis for pushes), not evaluated again
                    self.store.mark_evaluated(connection, own, version)
                    changed = [key for key in changed if split_ticket_key(key)[1] not in own]
                report.merge(self.evaluate_keys(changed, now))
            report.own_write_backs += len(own)
            report.pulled += len(page.records)
            report.changed += len(changed)
            report.skipped_records += len(page.skipped)
            for skipped in page.skipped:
                log.warning(
                    "record skipped", connection=connection, ticket=skipped.ticket_id, reason=skipped.reason
                )
            if page.records:
                newest = max(r.ticket.updated_at for r in page.records)
                report.lag_seconds = max(0.0, (now - newest).total_seconds())
            if progress is not None:
                progress.update("pull", connection, report.pulled, total)
            if page.done or self.stopping:
                break
            if self.waiting_work is not None:
                self.waiting_work()  # no transaction is open here: the page is stored
        report.api_calls += helpdesk.api_calls - calls_before
        return report

    def _serving(self) -> AbstractContextManager[None]:
        """Around fetching a pull's next page: the adapters' retry waits serve `waiting_work`."""
        if self.waiting_work is None or self.waits is None:
            return nullcontext()
        return self.waits.serving(self.waiting_work)

    # -- push -------------------------------------------------------------------------------

    def push(
        self,
        connection: str,
        *,
        max_batches: int = PUSH_MAX_BATCHES,
        progress: CycleProgress | None = None,
        tickets: Sequence[str] | None = None,
    ) -> CycleReport:
        """Send queued actions. Stops when the queue is empty, when a whole batch only got RETRY
        (the helpdesk is struggling: try next cycle), after `max_batches`, or on shutdown; a push of
        the whole queue also stops between batches when `yield_push` says other work waits (a
        webhook's tickets: their push goes ahead of a backlog).

        With `tickets`, only their queued actions are sent (what a webhook's re-read planned), in
        batches of at most `push_batch` tickets.

        Tickets with an escalation step whose stored view is older than `verify_within` are
        re-read and evaluated again before any of their actions is sent (see the module docstring
        and `_stale`); if the helpdesk cannot be read, nothing is sent this time."""
        helpdesk = self.helpdesks[connection]
        report = CycleReport()
        calls_before = helpdesk.api_calls
        queued = 0
        if progress is not None:
            counts = self.store.outbox_counts(connection)
            queued = counts.get("pending", 0) + counts.get("sending", 0)
            progress.update("push", connection, 0, queued)
        try:
            if tickets is None:
                self._push_batches(connection, helpdesk, report, max_batches, progress, queued, None)
            else:
                for chunk in chunks(sorted(set(tickets)), self.push_batch):
                    self._push_batches(connection, helpdesk, report, max_batches, progress, queued, chunk)
        finally:
            if self.claim_owner is not None:
                self.store.release_claims(self.claim_owner, connection)
        report.api_calls += helpdesk.api_calls - calls_before
        return report

    def _queued(self, connection: str, tickets: Sequence[str] | None) -> list[OutboxItem]:
        if self.claim_owner is None:
            return self.store.pending_actions(connection, limit=self.push_batch, tickets=tickets)
        return self.store.claim_actions(
            connection,
            self.claim_owner,
            limit=min(self.push_batch, self.claim_batch),
            ttl=self.claim_seconds,
            tickets=tickets,
        )

    def _push_batches(
        self,
        connection: str,
        helpdesk: Helpdesk,
        report: CycleReport,
        max_batches: int,
        progress: CycleProgress | None,
        queued: int,
        tickets: Sequence[str] | None,
    ) -> None:
        verified: set[str] = set()
        batches = sent = 0
        while batches < max_batches and not self.stopping:
            if tickets is None and batches and self.yield_push is not None and self.yield_push():
                break
            items = self._queued(connection, tickets)
            if not items:
                break
            # fewer than a batch: this read saw the whole queue (claims may see part of it)
            whole_queue = self.claim_owner is None and len(items) < self.push_batch
            if len(items) == self.push_batch and self.claim_owner is None:
                # keep a ticket's actions together: they go out as one update with one basis
                last = items[-1].action.ticket_id
                whole = [item for item in items if item.action.ticket_id != last]
                items = whole or items
            stale = self.fresh.stale(connection, items, verified)
            if stale:
                try:
                    self.fresh.verify(connection, stale, report)
                except HelpdeskError as exc:
                    log.warning(
                        "tickets could not be re-read before pushing; nothing sent for now",
                        connection=connection,
                        tickets=len(stale),
                        error=str(exc),
                    )
                    report.retried += len(items)
                    break
                verified.update(stale)
                continue  # the queue changed: withdrawn steps, replaced diffs, new crossings
            batches += 1
            results = self._send(connection, helpdesk, items)
            conflicted: set[str] = set()
            by_key = {item.action.key: item.action for item in items}
            for result in results:
                report.outcomes[result.outcome.value] = report.outcomes.get(result.outcome.value, 0) + 1
                if result.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED):
                    report.pushed += 1
                elif result.outcome is Outcome.RETRY:
                    report.retried += 1
                elif result.outcome is Outcome.FAILED:
                    report.failed += 1
                    log.error("action failed", connection=connection, key=result.key, message=result.message)
                elif result.outcome is Outcome.CONFLICT:
                    report.conflicts += 1
                    conflicted.add(by_key[result.key].ticket_id)
            if conflicted:
                self.fresh.replan(connection, sorted(conflicted), report)
                verified.update(conflicted)
            if progress is not None:
                sent += len(results)
                progress.update("push", connection, sent, max(queued, sent))
            if results and all(r.outcome is Outcome.RETRY for r in results):
                break
            if whole_queue and not conflicted and all(r.outcome in FINAL_OUTCOMES for r in results):
                break  # nothing was queued again: reading the queue once more would find it empty

    def _send(self, connection: str, helpdesk: Helpdesk, items: Sequence[OutboxItem]) -> list[ActionResult]:
        keys = [item.action.key for item in items]
        if self.claim_owner is not None:
            marked = self.store.mark_claimed_sending(
                keys, self.claim_owner, ttl=self.claim_seconds, now=self.clock.now()
            )
            items = [item for item in items if item.action.key in marked]  # the rest was replaced
            if not items:
                return []
        else:
            self.store.mark_sending(keys, now=self.clock.now())
        uncertain = frozenset(item.action.key for item in items if item.uncertain)
        actions = [item.action for item in items if item.action.kind is not ActionKind.NOTIFY]
        notifications = [item.action for item in items if item.action.kind is ActionKind.NOTIFY]
        results = helpdesk.push(actions, uncertain=uncertain) if actions else []
        if notifications:
            results += send_notifications(self.notifier, notifications, uncertain)
        self.store.record_results(results, now=self.clock.now())
        return results

    def refresh(self, connection: str, ticket_ids: Sequence[str]) -> CycleReport:
        """Re-read the tickets a verified webhook named and evaluate them again; the caller pushes
        (`FreshViews.refresh`)."""
        return self.fresh.refresh(connection, ticket_ids)

    # -- a whole cycle ----------------------------------------------------------------------

    def run_cycle(self, progress: CycleProgress | None = None) -> CycleReport:
        """Pull every connection, evaluate what came due, push every outbox. With `leadership` set
        (workers share the database) a connection another worker leads is neither pulled nor
        evaluated here (`led_elsewhere`); its queued actions are still pushed, under claims. A helpdesk that fails
        (down, or out of retries) is skipped so the others and the deadlines planned from
        stored clocks still get their turn; the first such failure is raised once the cycle is done,
        its `connection` set. Transient failures of a stopped cycle are not raised: stopping is not a failure."""
        started = time.perf_counter()
        self.policies.reload_if_changed()
        report = CycleReport()
        tally = OutboxTally.take(self.store)
        failures: list[HelpdeskError] = []
        for connection in self.helpdesks:
            if self.stopping:
                break
            if self.leadership is not None and not self.leadership.acquire(connection):
                report.led_elsewhere.append(connection)
                continue
            try:
                report.merge(self.pull(connection, progress))
            except HelpdeskError as exc:
                exc.connection = connection
                failures.append(exc)
        led = None
        if self.leadership is not None:
            led = [c for c in self.helpdesks if c not in report.led_elsewhere and self.leadership.holds(c)]
        report.merge(self.evaluate_due(progress=progress, connections=led))
        if led is None or len(led) == len(self.helpdesks):  # accounts span connections
            report.queued += self.allowance_pass()
        for connection in self.helpdesks:
            if self.stopping:
                break
            try:
                report.merge(self.push(connection, progress=progress))
            except HelpdeskError as exc:
                exc.connection = connection
                failures.append(exc)
        finish_cycle(report, self.store, tally)
        log.info(
            "cycle",
            **summary_fields(report),
            lag_s=round(report.lag_seconds, 1),
            took_s=round(time.perf_counter() - started, 3),
            policy=self.policies.policy.version,
        )
        failures = [f for f in failures if not (self.stopping and isinstance(f, TransientError))]
        for failure in failures[1:]:  # the first is raised: the caller reports it
            log.error("helpdesk failed", connection=failure.connection, error=str(failure))
        if failures:
            raise failures[0]
        return report
