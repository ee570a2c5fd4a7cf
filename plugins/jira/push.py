"""One `JiraHelpdesk.push`: per issue one `PUT /issue/{id}` carrying every field change, the
watchers one call per account, the notes as JSM internal comments with their marker.

One bad step does not sink the others. Jira checks every field of an edit before applying any and
names the rejected ones: those steps answer FAILED with Jira's message and the fix
(`plugins.jira.rejections`), and the rest of the edit is sent again without them. A 400 naming no
field the edit touched sends the edit's steps one by one, so only the rejected one fails (at most
`MAX_EDITS` edit calls per issue; what is left is answered RETRY). Watchers and notes are their own
calls and land whatever happened to the edit; each watcher account is tried.

Notes carry the marker as the hidden comment property `tierdesk`; a note whose earlier send is
uncertain is looked up by marker before it is sent again. A note whose send times out is not
re-sent in the same push (the request may land after a check made seconds later, and Jira has no
conditional write that would refuse the late one); the next push checks its marker first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import requests
import structlog
from jira import JIRAError

from connector.domain.model import Priority
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome
from connector.retry import ConflictError, HelpdeskError, PermanentError, TransientError
from plugins.jira.client import REST_API_VERSION, JiraHelpdesk, _Metadata, classify
from plugins.jira.rejections import FixContext, rejected_message
from plugins.jira.translate import (
    EditContext,
    FieldInfo,
    IssueEdit,
    canonical_priority,
    comment_markers,
    note_body,
    plan_issue_edit,
)

log = structlog.get_logger("tierdesk.jira")

MAX_EDITS = 8  # edit calls per issue per push: the edit, re-sends without rejected steps, one by one


class UncertainWrite(HelpdeskError):
    """A write whose outcome is unknown: not retried in this push (a note with a marker is checked
    in the next one; one without cannot be checked)."""


def result_for(action: Action, exc: HelpdeskError) -> ActionResult:
    if isinstance(exc, TransientError):
        return ActionResult(action.key, Outcome.RETRY, str(exc))
    if isinstance(exc, ConflictError):
        return ActionResult(action.key, Outcome.CONFLICT, str(exc))
    return ActionResult(action.key, Outcome.FAILED, str(exc))


class Push:
    """Apply `actions` (see `connector.ports.Helpdesk.push`): `run()` returns one result per
    action, in order."""

    def __init__(self, client: JiraHelpdesk, actions: Sequence[Action], uncertain: frozenset[str]) -> None:
        self.client = client
        self.actions = list(actions)
        self.uncertain = uncertain
        self.results: dict[str, ActionResult] = {}
        config = client.config
        self.fix = FixContext(config.name, config.aliases, config.fields, config.priority_map)

    def run(self) -> list[ActionResult]:
        groups: dict[str, list[Action]] = {}
        for action in self.actions:
            groups.setdefault(action.ticket_id, []).append(action)
        for issue_id, group in groups.items():
            try:
                self._push_issue(issue_id, group)
            except HelpdeskError as exc:
                for action in group:
                    if action.key not in self.results:
                        self.results[action.key] = result_for(action, exc)
                self._log_failure(issue_id, group, exc)
        return [
            self.results.get(a.key) or ActionResult(a.key, Outcome.RETRY, "not attempted")
            for a in self.actions
        ]

    def _push_issue(self, issue_id: str, group: list[Action]) -> None:
        client = self.client
        meta = client._metadata()
        current: Priority | None = None
        if any(ActionKind(a.kind) == ActionKind.SET_PRIORITY for a in group):
            try:
                issue = client._get("current priority", f"issue/{issue_id}", {"fields": "priority"})
            except PermanentError as exc:
                for action in group:
                    self.results[action.key] = ActionResult(action.key, Outcome.FAILED, str(exc))
                self._log_failure(issue_id, group, exc)
                return
            current = canonical_priority(
                ((issue.get("fields") or {}).get("priority") or {}).get("name"), client.config.priority_map
            )
        self._load_options(group, meta)
        context = EditContext(
            field_aliases=client.config.fields,
            field_info=meta.fields,
            priority_map=client.config.priority_map,
            current_priority=current,
            adf=REST_API_VERSION == "3",
        )
        edit = plan_issue_edit(issue_id, group, context)
        self._settle(edit)
        if edit.has_edit:
            self._apply_edit(issue_id, [a for a in group if a.key in edit.parts], context)
        for action, accounts in edit.watchers:
            self.results[action.key] = self._add_watchers(issue_id, action, accounts)
        for note in edit.notes:
            self.results[note.key] = self._send_note(issue_id, note, note.key in self.uncertain)

    def _settle(self, edit: IssueEdit) -> None:
        for key, (outcome, message) in edit.settled.items():
            self.results[key] = ActionResult(key, Outcome(outcome), message)
            if outcome == Outcome.FAILED:
                log.warning(
                    "jira.action_failed",
                    connection=self.client.name,
                    issue=edit.issue_id,
                    action=key,
                    error=message,
                )

    def _apply_edit(self, issue_id: str, actions: list[Action], context: EditContext) -> None:
        """Send the edit; steps Jira names are failed and the rest re-sent (see module docstring)."""
        queue: list[list[Action]] = [actions]  # edits still to send, next first
        for _call in range(MAX_EDITS):
            if not queue:
                return
            steps = queue.pop(0)
            edit = plan_issue_edit(issue_id, steps, context)
            try:
                self.client._send("edit issue", "PUT", f"issue/{issue_id}", edit.body())
            except PermanentError as exc:
                if exc.status == 400:
                    queue[:0] = self._rejected(issue_id, steps, edit, exc)
                    continue
                queue.insert(0, steps)
                self._stop(issue_id, queue, exc)
                return
            except HelpdeskError as exc:
                queue.insert(0, steps)
                self._stop(issue_id, queue, exc)
                return
            for action in steps:
                self.results[action.key] = ActionResult(action.key, Outcome.APPLIED)
        for steps in queue:
            for action in steps:
                self.results[action.key] = ActionResult(
                    action.key, Outcome.RETRY, "a rejected step was still being isolated; re-sent next cycle"
                )

    def _stop(self, issue_id: str, queue: list[list[Action]], exc: HelpdeskError) -> None:
        """An edit failed for a reason that is not about its steps: every unsent step gets it."""
        unsent = [a for steps in queue for a in steps]
        for action in unsent:
            self.results[action.key] = result_for(action, exc)
        self._log_failure(issue_id, unsent, exc)

    def _rejected(
        self, issue_id: str, steps: list[Action], edit: IssueEdit, exc: PermanentError
    ) -> list[list[Action]]:
        """Answer the steps a 400 names (or, naming none, the one step sent); return the edits
        still to send: the rest, or every step on its own."""
        named = {
            a.key: "; ".join(exc.field_errors[f] for f in edit.parts[a.key] if f in exc.field_errors)
            for a in steps
            if any(f in exc.field_errors for f in edit.parts[a.key])
        }
        if not named and len(steps) > 1:
            return [[a] for a in steps]
        for action in steps:
            if named and action.key not in named:
                continue
            message = (
                rejected_message(action, f"HTTP 400 {named[action.key]}", self.fix)
                if named
                else rejected_message(action, str(exc).removeprefix("edit issue: "), self.fix, pointed=False)
            )
            self.results[action.key] = ActionResult(action.key, Outcome.FAILED, message)
        self._log_failure(issue_id, [a for a in steps if not named or a.key in named], exc)
        rest = [a for a in steps if named and a.key not in named]
        return [rest] if rest else []

    def _load_options(self, group: list[Action], meta: _Metadata) -> None:
        """Exact option values of select fields about to be set (so `enterprise` finds `Enterprise`)."""
        client = self.client
        for action in group:
            if ActionKind(action.kind) != ActionKind.SET_FIELD or not action.field:
                continue
            field_id = client.config.fields.get(action.field, action.field)
            info = meta.fields.get(field_id)
            if info is None or field_id in client._options_cache:
                continue
            if info.type != "option" and info.items != "option":
                continue
            options: dict[str, str] = {}
            try:
                contexts = client._get("field contexts", f"field/{field_id}/context")
                for ctx in contexts.get("values") or []:
                    for option in client._paged(
                        f"field/{field_id}/context/{ctx['id']}/option", "values", "options"
                    ):
                        options.setdefault(str(option["value"]).lower(), str(option["value"]))
            except PermanentError as exc:
                log.info("jira.options_unavailable", connection=client.name, field=field_id, error=str(exc))
            client._options_cache[field_id] = options
            meta.fields[field_id] = FieldInfo(
                id=info.id,
                name=info.name,
                type=info.type,
                items=info.items,
                custom=info.custom,
                options=options,
            )

    def _add_watchers(self, issue_id: str, action: Action, accounts: tuple[str, ...]) -> ActionResult:
        """Every account is tried; the action fails naming the accounts Jira refused."""
        refused: dict[str, str] = {}
        for account in accounts:
            try:
                self.client._send("add watcher", "POST", f"issue/{issue_id}/watchers", account)
            except PermanentError as exc:
                refused[account] = str(exc).removeprefix("add watcher: ")
            except HelpdeskError as exc:
                self._log_failure(issue_id, [action], exc)
                return result_for(action, exc)
        if not refused:
            return ActionResult(action.key, Outcome.APPLIED)
        culprit = Action(
            key=action.key,
            connection=action.connection,
            ticket_id=action.ticket_id,
            kind=action.kind,
            values=tuple(refused),
        )
        message = rejected_message(culprit, "; ".join(refused.values()), self.fix)
        if len(refused) < len(accounts):
            message += f" (added: {', '.join(a for a in accounts if a not in refused)})"
        log.warning(
            "jira.action_failed",
            connection=self.client.name,
            issue=issue_id,
            action=action.key,
            error=message,
        )
        return ActionResult(action.key, Outcome.FAILED, message)

    def _markers(self, issue_id: str) -> set[str]:
        page = self.client._get(
            "comment markers",
            f"issue/{issue_id}/comment",
            {"expand": "properties", "orderBy": "-created", "maxResults": 100},
        )
        return comment_markers(page.get("comments") or [])

    def _send_note(self, issue_id: str, action: Action, previously_uncertain: bool) -> ActionResult:
        """Post one note. A note whose earlier send is uncertain is looked up by marker first. A
        send whose outcome is unknown (timeout, 5xx) is not retried in this push: the request may
        still be on its way or queued at the server and land after any check made now, so the
        marker is checked in the next push instead."""
        client = self.client
        marker = action.marker
        body = note_body(action.value or "", marker, REST_API_VERSION)
        session = client._jira()._session
        url = client._url(f"issue/{issue_id}/comment")
        state = {"check": previously_uncertain}

        def attempt() -> Outcome:
            if state["check"] and marker:
                if marker in self._markers(issue_id):
                    return Outcome.ALREADY_APPLIED
                state["check"] = False
            try:
                session.post(url, data=json.dumps(body))
            except (JIRAError, requests.RequestException) as exc:
                error = classify(exc, "add note")
                if isinstance(error, TransientError) and error.ambiguous:
                    raise UncertainWrite(
                        f"{error} (the note may have been posted; its marker is checked next time)"
                        if marker
                        else f"{error} (a note without marker is not re-sent)"
                    ) from exc
                raise error from exc
            return Outcome.APPLIED

        try:
            outcome = client._call("add note", attempt)
        except UncertainWrite as exc:
            return ActionResult(action.key, Outcome.RETRY, str(exc), uncertain=True)
        except TransientError as exc:
            return ActionResult(action.key, Outcome.RETRY, str(exc), uncertain=previously_uncertain)
        except HelpdeskError as exc:
            self._log_failure(issue_id, [action], exc)
            return result_for(action, exc)
        return ActionResult(action.key, outcome)

    def _log_failure(self, issue_id: str, actions: Sequence[Action], exc: HelpdeskError) -> None:
        if isinstance(exc, TransientError):
            log.info(
                "jira.action_deferred",
                connection=self.client.name,
                issue=issue_id,
                actions=[a.key for a in actions],
                error=str(exc),
            )
            return
        log.warning(
            "jira.action_failed",
            connection=self.client.name,
            issue=issue_id,
            actions=[f"{a.kind}:{a.key}" for a in actions],
            status=exc.status,
            error=str(exc),
        )
