"""The worker: APScheduler 3.x jobs around the sync service.

- `pull:<connection>` every `pull_interval_seconds`: pull, evaluate, push.
- `drain` every `drain_interval` seconds: evaluate what came due, push the outbox (retries).
- A long pull (a first sync, a mass update) serves webhooks and a come deadline between its
  pages and during its retry waits (`SyncService.waiting_work`), then goes on where it was.
- `webhook`: a one-shot job a verified webhook schedules (`connector.webhooks`): re-read the
  tickets named since the last run (a burst is one fetch), evaluate, push their actions ahead of
  the queue. A job pushing a backlog gives way after its current batch when a delivery waits.
- `deadline`: a one-shot job at the exact instant of the next threshold crossing of any open
  ticket, re-planned after every job, so a warning or breach lands within seconds of its threshold.
- `lease` every `$TIERDESK_LEASE_POLL_SECONDS` (5 s), on a thread of its own: several workers on one
  PostgreSQL database (`connector.store.leases`) each take the pull leadership of connections nobody
  holds; only the leader pulls and evaluates a connection, every worker pushes outbox rows it
  claimed. A SQLite database takes one worker: a second one is refused when it starts.
The other jobs run on ONE executor thread: they never overlap and share the store safely; missed
runs coalesce. SIGTERM/SIGINT: retry waits end at once (`connector.stopping`), the current batch answers what
it did not send RETRY (it stays queued), nothing new starts, the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.bootstrap import App
from connector.health import DEFAULT_MISSED_PULLS, WorkerHealth
from connector.metrics import WorkerMetrics
from connector.ports import Leadership
from connector.progress import CycleProgress, LogProgress, Phase
from connector.retry import StopRequested
from connector.store.leases import (
    CLAIM_ENV,
    DEFAULT_CLAIM_SECONDS,
    DEFAULT_LEASE_POLL_SECONDS,
    LEASE_POLL_ENV,
    PgLeadership,
    leadership_for,
    seconds_from_env,
    worker_id,
)
from connector.store.unit import split_ticket_key
from connector.sync_summary import CycleReport, OutboxTally, finish_cycle, summary_fields
from connector.webhooks import TicketNudges

log = structlog.get_logger("tierdesk.worker")


class _PullsKeepHealthy:
    """Progress that also tells the health check a page of a running pull arrived."""

    def __init__(self, inner: CycleProgress, health: WorkerHealth) -> None:
        self.inner = inner
        self.health = health

    def update(self, phase: Phase, connection: str, done: int, total: int | None) -> None:
        if phase == "pull" and done > 0:
            self.health.page_pulled(connection)
        self.inner.update(phase, connection, done, total)


def _real_seconds(app: App, simulated: float) -> float:
    scale = getattr(app.clock, "real_seconds", None)
    return float(scale(simulated)) if callable(scale) else simulated


def _to_real(app: App, instant: datetime) -> datetime:
    convert = getattr(app.clock, "to_real", None)
    return convert(instant) if callable(convert) else instant


class Worker:
    def __init__(
        self,
        app: App,
        *,
        drain_interval: float = 10.0,
        metrics: WorkerMetrics | None = None,
        missed_pulls: int = DEFAULT_MISSED_PULLS,
        webhook_delay: float = 0.2,
    ) -> None:
        self.app = app
        # tickets verified webhooks named; a burst within `webhook_delay` real seconds is one fetch
        self.nudges = TicketNudges(on_added=self._webhook_arrived)
        self.webhook_delay = webhook_delay
        # a backlog push gives way after its batch to the webhook job (its tickets' push goes first)
        app.service.yield_push = lambda: len(self.nudges) > 0
        # a long pull (a first sync, a mass update) serves them between its pages and in its waits
        app.service.waiting_work = self._serve_waiting
        self._served_deadline: datetime | None = None  # the deadline a pull last served
        self._webhook_planned = threading.Event()
        self._webhook_runs = 0
        self.metrics = metrics
        self.health = WorkerHealth(
            app.clock,
            app.store,
            {
                config.name: config.pull_interval_seconds
                for config in app.policies.policy.connections
                if config.name in app.service.helpdesks
            },
            missed_pulls=missed_pulls,
        )
        # A long first pull logs how far it got; every page it stores also counts as a sign of life.
        self.progress = _PullsKeepHealthy(LogProgress(quiet_short_phases=True), self.health)
        self.drain_interval = drain_interval
        # A run that finds the previous one still busy is coalesced by design; APScheduler would
        # log each skipped run as a warning.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.executors.default").setLevel(logging.ERROR)
        self.scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=1),
                "lease": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._lease_lock = threading.Lock()
        # Held around every scheduler call made from a job, its listener or the webhook port:
        # `shutdown(wait=True)` holds APScheduler's job-store lock while it waits for the running job,
        # so a job that then called `add_job` would wait for `shutdown` forever. `shutdown` takes
        # this lock once after `_stopped` is set; the callers check `_stopped` inside it.
        self._schedule_lock = threading.Lock()
        self.cycles = 0
        self.totals = CycleReport()
        self._deadline: datetime | None = None
        self.owner = worker_id()
        self.leadership: Leadership | None = None  # taken in `start`
        self.lease_poll = seconds_from_env(LEASE_POLL_ENV, DEFAULT_LEASE_POLL_SECONDS)
        self.claim_seconds = seconds_from_env(CLAIM_ENV, DEFAULT_CLAIM_SECONDS)

    # -- jobs -------------------------------------------------------------------------------

    def _record(self, report: CycleReport) -> None:
        with self._lock:
            self.cycles += 1
            self.totals.merge(report)
        if self.metrics is not None:
            self.metrics.record(report)

    def _shared(self) -> bool:
        return isinstance(self.leadership, PgLeadership)

    def _led(self) -> list[str] | None:
        """The connections this worker evaluates: those it leads (None: all, it is the only worker)."""
        if not self._shared() or self.leadership is None:
            return None
        return [c for c in self.app.service.helpdesks if self.leadership.holds(c)]

    def pull_job(self, connection: str) -> None:
        service = self.app.service
        service.policies.reload_if_changed()
        if self.leadership is not None and not self.leadership.acquire(connection):
            # another worker pulls this connection; this one helps push what is queued
            self.health.pull_succeeded(connection)
            self._record(service.push(connection, progress=self.progress))
            return
        tally = OutboxTally.take(service.store)
        try:
            report = service.pull(connection, self.progress)
        except Exception as exc:
            self.health.pull_failed(connection, str(exc) or type(exc).__name__)
            raise
        self.health.pull_succeeded(connection)
        report.merge(service.evaluate_due(progress=self.progress, connections=self._led()))
        report.merge(service.push(connection, progress=self.progress))
        finish_cycle(report, service.store, tally)
        self._record(report)
        log.info("cycle", connection=connection, **summary_fields(report), lag_s=round(report.lag_seconds, 1))

    def drain_job(self) -> None:
        service = self.app.service
        report = service.evaluate_due(connections=self._led())
        for connection in service.helpdesks:
            report.merge(service.push(connection))
        self._record(report)
        if report.queued or report.pushed or report.retried or report.failed:
            log.info(
                "drain",
                evaluated=report.evaluated,
                settled=report.settled,
                verified=report.verified,
                queued=report.queued,
                pushed=report.pushed,
                retried=report.retried,
                failed=report.failed,
            )

    def webhook_job(self) -> None:
        """Fetch just the tickets webhooks named, evaluate what the helpdesk shows, and push their
        actions ahead of the queue (the rest waits for the drain and pull jobs)."""
        self._webhook_planned.clear()  # a delivery from now on plans the next run
        self._serve_nudges()

    def _serve_nudges(self) -> None:
        service = self.app.service
        for connection, ticket_ids in self.nudges.take().items():
            if connection not in service.helpdesks or self._stopped.is_set():
                continue
            tally = OutboxTally.take(service.store)
            try:
                report = service.refresh(connection, ticket_ids)
            except Exception:
                self.nudges.add(connection, ticket_ids, notify=False)  # the next delivery or pull takes them
                raise
            report.merge(service.push(connection, tickets=ticket_ids))  # ahead of any backlog
            finish_cycle(report, service.store, tally)
            self._record(report)
            log.info("webhook", connection=connection, tickets=len(ticket_ids), **summary_fields(report))

    def _serve_waiting(self) -> None:
        """Between a long pull's pages and in its retry waits (`SyncService.waiting_work`): the
        tickets webhooks named are re-read and pushed ahead, and once the planned deadline has come
        its tickets are evaluated and their actions pushed, instead of waiting for the pull to end.
        A failure here is logged and left to the work's own job; the pull goes on."""
        try:
            if len(self.nudges) > 0:
                self._serve_nudges()
            deadline = self._deadline
            if (
                deadline is not None
                and deadline != self._served_deadline
                and self.app.clock.now() >= deadline
            ):
                self._served_deadline = deadline  # once: a deadline that stays due does not recur
                self._serve_due()
        except StopRequested:
            return  # stopping: the pull stops too
        except Exception as exc:
            log.warning("work served during a pull failed; its own job takes it", error=str(exc))

    def _serve_due(self) -> None:
        service = self.app.service
        led = self._led()
        due: dict[str, list[str]] = {}
        for key in self.app.store.tickets_due_before(self.app.clock.now()):
            connection, ticket_id = split_ticket_key(key)
            if led is None or connection in led:
                due.setdefault(connection, []).append(ticket_id)
        tally = OutboxTally.take(service.store)
        report = service.evaluate_due(connections=led)
        for connection, ticket_ids in due.items():
            report.merge(service.push(connection, tickets=ticket_ids))  # ahead of any backlog
        finish_cycle(report, service.store, tally)
        self._record(report)
        log.info("deadline served during a pull", **summary_fields(report))
        self._deadline = None
        self.plan_deadline()  # the next one, checked from here on

    def _webhook_arrived(self) -> None:
        """Called from the webhook port's threads: plan one run unless one is planned already."""
        with self._lock:
            if self._stopped.is_set() or not self.scheduler.running or self._webhook_planned.is_set():
                return
            self._webhook_planned.set()
            self._webhook_runs += 1  # an id per run: a run waiting behind a pull never skips the next one
            job_id = f"webhook:{self._webhook_runs}"
        run_at = datetime.now(UTC) + timedelta(seconds=self.webhook_delay)
        with self._schedule_lock:
            if not self._stopped.is_set():
                self.scheduler.add_job(self.webhook_job, DateTrigger(run_date=run_at), id=job_id)

    def lease_job(self) -> None:
        """Take the leadership of every connection nobody holds and pull a newly led one at once;
        renew this worker's outbox claims; drain now when queued actions wait unclaimed (another
        worker's pull queued them: every worker helps push)."""
        if self.leadership is None:
            return
        with self._lease_lock:  # `shutdown` waits for it: no scheduler call once it has begun
            self._lease_round()

    def _lease_round(self) -> None:
        assert self.leadership is not None
        if not self._stopped.is_set():
            for connection in self.app.service.helpdesks:
                was_held = self.leadership.holds(connection)
                if self.leadership.acquire(connection) and not was_held:
                    job = self.scheduler.get_job(f"pull:{connection}")
                    if job is not None:
                        job.modify(next_run_time=datetime.now(UTC))
        self.app.store.renew_claims(self.owner, ttl=self.claim_seconds)  # also while stopping
        if not self._stopped.is_set() and self.app.store.has_claimable(self.owner):
            drain = self.scheduler.get_job("drain")
            if drain is not None:
                drain.modify(next_run_time=datetime.now(UTC))

    def deadline_job(self) -> None:
        log.debug("deadline reached", deadline=self._deadline.isoformat() if self._deadline else None)
        self.drain_job()

    def plan_deadline(self) -> None:
        """(Re)schedule the one-shot deadline job at the next threshold instant."""
        if self._stopped.is_set():
            return
        deadline = self.app.store.earliest_deadline()
        if deadline is None or deadline == self._deadline:
            return
        self._deadline = deadline
        run_at = max(_to_real(self.app, deadline), datetime.now(UTC)) + timedelta(milliseconds=50)
        with self._schedule_lock:
            if self._stopped.is_set():
                return
            self.scheduler.add_job(
                self.deadline_job, DateTrigger(run_date=run_at), id="deadline", replace_existing=True
            )

    def _after_job(self, event: JobExecutionEvent) -> None:
        if event.job_id == "lease" and event.exception is None:
            return
        if event.exception is not None:
            log.error("job failed", job=event.job_id, error=repr(event.exception))
            if not event.job_id.startswith("pull:"):  # a pull's failure is recorded by the job
                self.health.job_failed(event.job_id, str(event.exception) or repr(event.exception))
        if event.job_id == "deadline":
            self._deadline = None
        self.plan_deadline()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        now = datetime.now(UTC)
        self.leadership = leadership_for(self.app.store.url, self.owner)
        if self._shared():
            self.app.service.leadership = self.leadership
            self.app.service.claim_owner = self.owner
            self.app.service.claim_seconds = self.claim_seconds
        self.health.started()
        for config in self.app.policies.policy.connections:
            if config.name not in self.app.service.helpdesks:
                continue
            self.scheduler.add_job(
                self.pull_job,
                IntervalTrigger(seconds=_real_seconds(self.app, config.pull_interval_seconds)),
                args=[config.name],
                id=f"pull:{config.name}",
                next_run_time=now,
            )
        self.scheduler.add_job(
            self.drain_job, IntervalTrigger(seconds=_real_seconds(self.app, self.drain_interval)), id="drain"
        )
        if self._shared():
            self.scheduler.add_job(
                self.lease_job,
                IntervalTrigger(seconds=self.lease_poll),
                id="lease",
                executor="lease",
                next_run_time=now,
            )
        self.scheduler.add_listener(self._after_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.start()
        log.info(
            "worker started",
            connections=list(self.app.service.helpdesks),
            policy=self.app.policies.policy.version,
        )

    def stop(self, *_: Any) -> None:
        """Finish the running batch, start nothing new, shut the scheduler down."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.app.request_stop("SIGTERM")
        log.info("worker stopping")

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stopped (or `timeout`); True when stopped."""
        return self._stopped.wait(timeout)

    def shutdown(self) -> None:
        self.stop()
        with self._lease_lock:
            # A lease job calling the scheduler while `shutdown(wait=True)` holds its job-store
            # lock and waits for the job's thread would never finish; from here on it sees
            # `_stopped` and leaves the scheduler alone.
            pass
        with self._schedule_lock:  # the same for a job's listener planning the next deadline
            pass
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._shared():
            self.app.store.release_claims(self.owner)
        if self.leadership is not None:
            self.leadership.close()
            self.leadership = None
        log.info("worker stopped", cycles=self.cycles, pushed=self.totals.pushed, failed=self.totals.failed)

    def run_forever(self) -> None:
        self.install_signal_handlers()
        self.start()
        try:
            while not self.wait(1.0):
                pass
        finally:
            self.shutdown()
