"""One `ZendeskHelpdesk.push`: each ticket's actions merged into one Update Many entry, batches of
100, every job polled together (show_many), and rounds that isolate a step Zendesk rejects.

Sends of unknown outcome
  A submit whose outcome is unknown (timeout, connection error, 5xx) is not re-sent in the push:
  its actions are answered RETRY with `uncertain=True`. The next push reads every ticket with an
  uncertain action back in one show_many and sends only what the ticket does not show
  (`plugins.zendesk.doubts`); a note the ticket cannot vouch for is looked up by its marker line
  in the comments, for at most `MAX_MARKER_READS` tickets per push.

Conflicts
  A failed job result `UpdateConflict` answers CONFLICT for that ticket alone. A 409 on the submit
  names no ticket: the batch's `updated_at` is read once (show_many), tickets changed since their
  stamp answer CONFLICT, and the others are sent again in the next round.

Isolating a rejected step
  Zendesk rejects an invalid update as a whole (nothing applied). When a ticket's update is
  rejected as invalid (a failed job result with a validation error, or a 422 on the submit), the
  steps Zendesk's message points at (`plugins.zendesk.rejections`) are answered FAILED with the
  message and the admin's fix, and the ticket's other actions are re-sent without them in the next
  round, batched with the other re-sent tickets. A message that points at no step splits the
  update instead: the notes and tags first, then each risky step (assignment, followers, priority,
  field) on its own, so only the step Zendesk really rejects ends FAILED; when the notes and tags
  alone are rejected, the ticket itself refuses the update and what is left fails with the
  message. At most `MAX_ROUNDS` rounds run per push; what is still unsent is answered RETRY.
  A 422 on the submit of several tickets cannot be pinned on one of them: the batch is split in
  halves for the next round until the rejected ticket is alone.

Safe updates across rounds
  A rejected update changed nothing, so its re-send keeps the first send's `updated_stamp` and a
  concurrent agent edit still answers CONFLICT. A piece sent after an earlier piece of the same
  ticket landed in this push is checked against the ticket's new `updated_at`, re-read (show_many)
  before the round; an agent edit between our landed write and that read is the one change this
  check cannot see. After a piece ends in CONFLICT, FAILED or RETRY the ticket's later pieces are
  not sent and get the same answer (RETRY when they were never sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome
from connector.retry import ConflictError, HelpdeskError, TransientError
from plugins.zendesk.doubts import judge, raw_updated_at
from plugins.zendesk.rejections import (
    FixContext,
    RejectedUpdate,
    Rejection,
    culprits,
    from_job_result,
    names_no_known_step,
    rejected_message,
    ticket_refused_message,
)
from plugins.zendesk.update import TicketUpdate

if TYPE_CHECKING:
    from plugins.zendesk.client import ZendeskHelpdesk

log = structlog.get_logger("tierdesk.zendesk")

BATCH = 100
MAX_MARKER_READS = 20  # tickets whose comments one push may search for an uncertain note's marker
# Update Many rounds per push: enough for the first send, the notes and tags of a split, and an
# escalation's risky steps (priority, group, assignee, followers, a few fields) one by one
MAX_ROUNDS = 10
RISKY = frozenset(
    {
        ActionKind.ASSIGN_GROUP,
        ActionKind.ASSIGN_ASSIGNEE,
        ActionKind.ADD_FOLLOWERS,
        ActionKind.SET_PRIORITY,
        ActionKind.SET_FIELD,
    }
)
FINAL = (Outcome.APPLIED, Outcome.ALREADY_APPLIED, Outcome.FAILED, Outcome.CONFLICT)


@dataclass
class _Piece:
    """Actions of one ticket sent together in one round."""

    actions: list[Action]
    notes_and_tags: bool = False  # what a split leaves once the risky steps are taken out


@dataclass
class _TicketPush:
    ticket_id: int
    pieces: list[_Piece]  # still to send; the first one is in flight during a round
    stamp: datetime | None  # the first send's `updated_stamp`
    landed: bool = False  # a piece was applied in this push: `updated_at` has moved


def _chunks(updates: Sequence[TicketUpdate]) -> list[list[TicketUpdate]]:
    return [list(updates[i : i + BATCH]) for i in range(0, len(updates), BATCH)]


class Push:
    """Apply `actions` (see `connector.ports.Helpdesk.push`): `run()` returns one result per
    action, in order."""

    def __init__(self, client: ZendeskHelpdesk, actions: Sequence[Action], uncertain: frozenset[str]) -> None:
        self.client = client
        self.actions = list(actions)
        self.doubtful = set(uncertain) | client._uncertain
        self.results: dict[str, ActionResult] = {}
        self.tickets: dict[int, _TicketPush] = {}
        self.rejected: dict[int, tuple[TicketUpdate, list[Rejection]]] = {}  # in the current round
        self.fix = FixContext(client.name, client.aliases, client.field_ids)
        self.me = int(client.me())

    def run(self) -> list[ActionResult]:
        batches = _chunks(self._first_updates())
        for _round in range(MAX_ROUNDS):
            if not batches:
                break
            batches = self._round(batches)
        for ticket in self.tickets.values():
            for piece in ticket.pieces:
                self._not_sent(piece.actions, "a rejected step was still being isolated; re-sent next cycle")
        for key, result in self.results.items():
            if result.outcome in FINAL:
                self.client._uncertain.discard(key)
        return [
            self.results.get(a.key) or ActionResult(a.key, Outcome.RETRY, "not attempted")
            for a in self.actions
        ]

    # ------------------------------------------------------------------ the first send
    def _first_updates(self) -> list[TicketUpdate]:
        by_ticket: dict[str, list[Action]] = {}
        for action in self.actions:
            by_ticket.setdefault(action.ticket_id, []).append(action)
        by_ticket = self._settle_doubts(by_ticket)
        updates: list[TicketUpdate] = []
        for ticket_id, planned in by_ticket.items():
            if not ticket_id.isdigit():
                for a in planned:
                    self._failed(a, f"not a Zendesk ticket id: {ticket_id!r}")
                continue
            group = planned
            update = TicketUpdate.build(int(ticket_id), group, self.client.field_ids, author_id=self.me)
            for key in update.applied_without_call:
                self.results[key] = ActionResult(
                    key, Outcome.APPLIED, "nothing to send: Zendesk has no issue properties"
                )
            by_key = {a.key: a for a in group}
            for key, why in update.failed.items():
                self._failed(by_key[key], why)
            if update.actions and update.has_changes:
                self.tickets[update.ticket_id] = _TicketPush(
                    update.ticket_id, [_Piece(update.actions)], update.stamp
                )
                updates.append(update)
            else:
                for key in update.action_keys:
                    self.results[key] = ActionResult(key, Outcome.APPLIED, "no change to send")
        return updates

    def _settle_doubts(self, by_ticket: dict[str, list[Action]]) -> dict[str, list[Action]]:
        """Judge the uncertain actions of every ticket from one batched read (`plugins.zendesk.
        doubts`); returns what is left to send per ticket. Notes only the comments can settle are
        looked up by marker, at most `MAX_MARKER_READS` tickets per push; the rest wait a cycle."""
        doubted = {
            tid: [a for a in planned if a.key in self.doubtful]
            for tid, planned in by_ticket.items()
            if tid.isdigit() and any(a.key in self.doubtful for a in planned)
        }
        if not doubted:
            return by_ticket
        try:
            current = {str(raw.get("id")): raw for raw in self.client._show_many(list(doubted))}
        except HelpdeskError as exc:
            for tid, doubtful in doubted.items():
                self._still_unknown(doubtful, f"could not read the ticket back: {exc}")
                by_ticket[tid] = [a for a in by_ticket[tid] if a not in doubtful]
            return by_ticket
        reads = 0
        for tid, doubtful in doubted.items():
            raw = current.get(tid)
            if raw is None:
                continue  # gone: the send answers for it
            verdict = judge(doubtful, raw, raw_updated_at(raw), self.client.field_ids)
            settled = list(verdict.already)
            for a in verdict.already:
                self.results[a.key] = ActionResult(a.key, Outcome.ALREADY_APPLIED, "the ticket shows it")
            if verdict.search and reads >= MAX_MARKER_READS:
                self._still_unknown(
                    verdict.search, "the ticket's comments are searched for the marker next cycle"
                )
                settled += verdict.search
            elif verdict.search:
                reads += 1
                settled += self._search_markers(tid, verdict.search)
            by_ticket[tid] = [a for a in by_ticket[tid] if a not in settled]
        return by_ticket

    def _search_markers(self, ticket_id: str, notes: list[Action]) -> list[Action]:
        """Answer ALREADY_APPLIED for notes whose marker is in the ticket's comments; returns the
        notes answered (found, or unreadable)."""
        try:
            found = self.client._markers_on(ticket_id)
        except TransientError as exc:
            self._still_unknown(notes, f"could not check the note marker: {exc}")
            return notes
        except HelpdeskError as exc:
            for a in notes:
                self._failed(a, f"could not check the note marker: {exc}")
            return notes
        there = [a for a in notes if a.marker in found]
        for a in there:
            self.results[a.key] = ActionResult(
                a.key, Outcome.ALREADY_APPLIED, "note marker found on the ticket"
            )
        return there

    def _still_unknown(self, actions: Sequence[Action], why: str) -> None:
        for a in actions:
            self.client._uncertain.add(a.key)
            self.results[a.key] = ActionResult(a.key, Outcome.RETRY, why, uncertain=True)

    # ------------------------------------------------------------------ one round
    def _round(self, batches: list[list[TicketUpdate]]) -> list[list[TicketUpdate]]:
        """Send `batches`, settle what came back, and return the next round's batches."""
        self.rejected = {}
        halves: list[list[TicketUpdate]] = []
        jobs: list[tuple[str, list[TicketUpdate]]] = []
        for batch in batches:
            job_id, sent = self._submit(batch, halves)
            if job_id is not None:
                jobs.append((job_id, sent))
        self._collect(jobs)
        for ticket_id, (update, rejections) in self.rejected.items():
            self._isolate(self.tickets[ticket_id], update, rejections)
        waiting = {u.ticket_id for half in halves for u in half}
        return halves + _chunks(self._next_updates(waiting))

    def _next_updates(self, waiting: set[int]) -> list[TicketUpdate]:
        """The next piece of every ticket not done (and not in a split batch `waiting`), with a
        re-read `updated_stamp` where an earlier piece of the ticket landed."""
        due = [t for t in self.tickets.values() if t.pieces and t.ticket_id not in waiting]
        stale = [t for t in due if t.landed and any(a.basis for a in t.pieces[0].actions)]
        fresh: dict[int, datetime] = {}
        if stale:
            try:
                fresh = self.client._updated_at([t.ticket_id for t in stale])
            except HelpdeskError as exc:
                for ticket in stale:
                    self._stop(ticket, f"could not re-read the ticket before sending its next part: {exc}")
                due = [t for t in due if t.pieces]
        return [
            TicketUpdate.build(
                t.ticket_id,
                t.pieces[0].actions,
                self.client.field_ids,
                author_id=self.me,
                stamp=fresh.get(t.ticket_id, t.stamp),
            )
            for t in due
        ]

    def _submit(
        self, batch: list[TicketUpdate], halves: list[list[TicketUpdate]]
    ) -> tuple[str | None, list[TicketUpdate]]:
        """Send one Update Many batch; returns the job id and the updates it carried. A batch
        rejected with a 422 goes to `halves` split in two, or, alone, to isolation; after a 409,
        the tickets that did not change since their stamp go to `halves` as they are."""
        try:
            for attempt in self.client._retrying():
                with attempt:
                    try:
                        return self.client._update_many([u.payload for u in batch]), batch
                    except TransientError as error:
                        if error.ambiguous:
                            self._outcome_unknown(batch, str(error))
                            return None, []
                        raise
        except RejectedUpdate as exc:
            if len(batch) > 1:
                middle = len(batch) // 2
                halves += [batch[:middle], batch[middle:]]
            else:
                self.rejected[batch[0].ticket_id] = (batch[0], exc.rejections)
        except ConflictError as exc:
            halves += self._conflicted(batch, str(exc))
        except TransientError as exc:
            self._settle(batch, Outcome.RETRY, f"gave up after retries: {exc}")
        except HelpdeskError as exc:
            self._settle(batch, Outcome.FAILED, str(exc))
        return None, []

    def _outcome_unknown(self, batch: list[TicketUpdate], why: str) -> None:
        """A write whose outcome is unknown is not re-sent in this push: the next push reads the
        tickets back first and sends only what they do not show (`plugins.zendesk.doubts`)."""
        for u in batch:
            self._still_unknown(
                u.actions, f"send outcome unknown ({why}); the ticket is checked before the next send"
            )
            ticket = self.tickets[u.ticket_id]
            ticket.pieces.pop(0)
            self._stop(ticket, f"an earlier part's send outcome is unknown ({why})")

    def _conflicted(self, batch: list[TicketUpdate], message: str) -> list[list[TicketUpdate]]:
        """A 409 on the submit names no ticket: re-read the batch's `updated_at` (show_many) and
        answer CONFLICT only for tickets changed since their stamp; the others are returned to be
        sent again as they are."""
        stamped = [u.ticket_id for u in batch if u.stamp is not None]
        try:
            current = self.client._updated_at(stamped) if stamped else {}
        except HelpdeskError as exc:
            self._settle(batch, Outcome.RETRY, f"{message}; the tickets could not be re-read: {exc}")
            return []
        changed = [
            u
            for u in batch
            if u.stamp is not None
            and (u.ticket_id not in current or current[u.ticket_id] > u.stamp.replace(microsecond=0))
        ]
        self._settle(changed, Outcome.CONFLICT, message)
        unchanged = [u for u in batch if u not in changed]
        return [unchanged] if unchanged else []

    def _collect(self, jobs: list[tuple[str, list[TicketUpdate]]]) -> None:
        """Poll all jobs together (show_many) until each is done or the poll budget is spent."""
        open_jobs = dict(jobs)
        waited = 0.0
        policy = self.client.retry
        while open_jobs:
            if waited >= policy.job_poll_budget:
                for updates in open_jobs.values():
                    self._settle(updates, Outcome.RETRY, "job did not finish in time")
                return
            self.client._sleep(policy.job_poll_interval)
            waited += policy.job_poll_interval
            ids = list(open_jobs)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                try:
                    statuses = self.client._job_statuses(chunk)
                except TransientError:
                    continue
                except HelpdeskError as exc:
                    for job_id in chunk:
                        self._settle(open_jobs.pop(job_id), Outcome.RETRY, f"job status unreadable: {exc}")
                    continue
                for status in statuses:
                    job_id = str(status.get("id"))
                    if job_id in open_jobs and status.get("status") in ("completed", "failed", "killed"):
                        self._job_done(status, open_jobs.pop(job_id))

    def _job_done(self, status: Mapping[str, Any], updates: list[TicketUpdate]) -> None:
        per_ticket: dict[int, Mapping[str, Any]] = {}
        for item in status.get("results") or []:
            if (
                isinstance(item, Mapping)
                and isinstance(item.get("id"), int | str)
                and str(item["id"]).isdigit()
            ):
                per_ticket[int(item["id"])] = item
        state = status.get("status")
        for u in updates:
            item = per_ticket.get(u.ticket_id)
            if state != "completed" or item is None:
                why = f"job {status.get('id')} ended {state} without a result for this ticket"
                self._settle([u], Outcome.RETRY, why)
                continue
            if item.get("success"):
                self._settle([u], Outcome.APPLIED, "")
                continue
            error = str(item.get("error") or "")
            details = str(item.get("details") or "")
            rejections = from_job_result(error, details)
            if rejections is not None:
                self.rejected[u.ticket_id] = (u, rejections)
            elif error == "UpdateConflict":
                self._settle([u], Outcome.CONFLICT, f"{error}: {details}")
            else:
                self._settle([u], Outcome.FAILED, f"{error}: {details}".strip(": "))

    # ------------------------------------------------------------------ isolating a rejected step
    def _isolate(self, ticket: _TicketPush, update: TicketUpdate, rejections: list[Rejection]) -> None:
        """Answer the steps a rejection points at and line up what is left of the ticket."""
        rejected_piece = ticket.pieces.pop(0)
        actions = update.actions
        pointed = culprits(rejections, actions, self.client.field_ids, self._titles_for(rejections, actions))
        if len(actions) == 1 and (pointed or actions[0].kind in RISKY):
            self._failed(
                actions[0], rejected_message(actions[0], rejections, self.fix, pointed=bool(pointed))
            )
            return
        if pointed:
            named: dict[tuple[ActionKind, str | None], list[Action]] = {}
            for a in actions:
                if a.key in pointed:
                    named.setdefault((a.kind, a.field), []).append(a)
            alone = []  # several steps merged into one value: Zendesk cannot say which, try each
            for group in named.values():
                if len(group) == 1:
                    self._failed(group[0], rejected_message(group[0], pointed[group[0].key], self.fix))
                else:
                    alone += group
            rest = [a for a in actions if a.key not in pointed]
            lined_up = [_Piece(rest, rejected_piece.notes_and_tags)] if rest else []
            ticket.pieces[:0] = lined_up + [_Piece([a]) for a in alone]
            return
        if rejected_piece.notes_and_tags or not any(a.kind in RISKY for a in actions):
            message = ticket_refused_message(ticket.ticket_id, rejections)
            for a in actions:
                self._failed(a, message)
            self._stop(ticket, message, Outcome.FAILED)
            return
        safe = [a for a in actions if a.kind not in RISKY]
        risky = [_Piece([a]) for a in actions if a.kind in RISKY]
        ticket.pieces[:0] = ([_Piece(safe, notes_and_tags=True)] if safe else []) + risky

    def _titles_for(self, rejections: list[Rejection], actions: list[Action]) -> dict[str, str]:
        """Ticket field titles, read only when a message may name a custom field by its title."""
        if not any(a.kind == ActionKind.SET_FIELD for a in actions):
            return {}
        if not any(names_no_known_step(r) and r.field_id is None for r in rejections):
            return {}
        return self.client._field_titles()

    # ------------------------------------------------------------------ answers
    def _failed(self, action: Action, why: str) -> None:
        log.warning(
            "zendesk.action_failed",
            connection=self.client.name,
            key=action.key,
            ticket=action.ticket_id,
            kind=action.kind.value,
            error=why,
        )
        self.results[action.key] = ActionResult(action.key, Outcome.FAILED, why)

    def _not_sent(self, actions: Sequence[Action], why: str) -> None:
        for a in actions:
            self.results[a.key] = ActionResult(a.key, Outcome.RETRY, why)

    def _settle(self, updates: Sequence[TicketUpdate], outcome: Outcome, message: str) -> None:
        """Answer every action of `updates` (a FAILED answer is logged, a RETRY of a note is
        remembered as uncertain) and move their tickets on."""
        for u in updates:
            for action in u.actions:
                if outcome == Outcome.FAILED:
                    self._failed(action, message)
                    continue
                doubtful = outcome == Outcome.RETRY and action.kind == ActionKind.ADD_NOTE
                if doubtful:
                    self.client._uncertain.add(action.key)
                self.results[action.key] = ActionResult(action.key, outcome, message, uncertain=doubtful)
            ticket = self.tickets[u.ticket_id]
            ticket.pieces.pop(0)
            if outcome == Outcome.APPLIED:
                ticket.landed = True
            else:
                self._stop(ticket, message, outcome)

    def _stop(self, ticket: _TicketPush, message: str, outcome: Outcome = Outcome.RETRY) -> None:
        """The ticket's later pieces are not sent: the same answer (RETRY: they were not sent)."""
        for piece in ticket.pieces:
            if outcome == Outcome.RETRY:
                self._not_sent(piece.actions, f"not sent: {message}")
            elif outcome == Outcome.FAILED:
                for a in piece.actions:
                    self._failed(a, message)
            else:
                for a in piece.actions:
                    self.results[a.key] = ActionResult(a.key, outcome, message)
        ticket.pieces.clear()
