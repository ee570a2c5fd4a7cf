"""Agent-created tickets (a phone call an agent logs): the opening comment is no reply.

As Zendesk's first reply time, an agent's public opening comment answers neither first response
nor starts next-response or periodic-update cycles; the agent's next public reply does. A tier
can make the opening comment count (`opening_comment_is_reply`).
"""

from __future__ import annotations

from dataclasses import replace

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind
from connector.domain.policy import Metric, Policy
from connector.domain.results import ClockState, Evaluation, SlaClock
from tests.unit.engine_helpers import MON_0900_BERLIN, H, M, agent, created, customer, ev, make_policy, ticket


def clocks(result: Evaluation, metric: Metric) -> list[SlaClock]:
    return [c for c in result.clocks if c.metric is metric]


def opening_by_agent(**kw: object) -> Event:
    """The comment an agent opened the ticket with, at its creation instant."""
    return ev(EventKind.PUBLIC_AGENT_REPLY, MON_0900_BERLIN, author_id="agent-1", **kw)


def counting_opening(policy: Policy) -> Policy:
    tiers = {name: replace(tier, opening_comment_is_reply=True) for name, tier in policy.tiers.items()}
    return replace(policy, tiers=tiers)


def test_opening_comment_by_agent_does_not_answer_first_response() -> None:
    events = [created(), opening_by_agent(opening=True), agent(MON_0900_BERLIN + 2 * H)]

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)

    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert first.state is ClockState.MET
    assert first.stopped_at == MON_0900_BERLIN + 2 * H
    assert first.elapsed == 2 * H


def test_first_response_keeps_running_after_an_agent_opened_the_ticket() -> None:
    events = [created(), opening_by_agent(opening=True)]

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 5 * H)

    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert first.state is ClockState.BREACHED  # 4h target, nobody answered
    assert first.breached_at == MON_0900_BERLIN + 4 * H


def test_opening_comment_by_agent_starts_no_periodic_update_cycle() -> None:
    events = [created(), opening_by_agent(opening=True), agent(MON_0900_BERLIN + 2 * H)]

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)

    assert [c.started_at for c in clocks(result, Metric.PERIODIC_UPDATE)] == [MON_0900_BERLIN + 2 * H]


def test_customer_comment_before_the_first_reply_starts_no_next_response_cycle() -> None:
    events = [
        created(),
        opening_by_agent(opening=True),
        customer(MON_0900_BERLIN + 30 * M),
        agent(MON_0900_BERLIN + 2 * H),
    ]

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)

    assert clocks(result, Metric.NEXT_RESPONSE) == []
    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert first.stopped_at == MON_0900_BERLIN + 2 * H


def test_tier_counting_the_opening_comment_meets_first_response_at_creation() -> None:
    events = [created(), opening_by_agent(opening=True), customer(MON_0900_BERLIN + 30 * M)]

    result = evaluate(ticket(), events, counting_opening(make_policy()), MON_0900_BERLIN + 3 * H)

    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert (first.state, first.stopped_at, first.elapsed) == (ClockState.MET, MON_0900_BERLIN, 0 * H)
    (answer,) = clocks(result, Metric.NEXT_RESPONSE)
    assert answer.started_at == MON_0900_BERLIN + 30 * M
    assert [c.started_at for c in clocks(result, Metric.PERIODIC_UPDATE)] == [MON_0900_BERLIN]


def test_agent_comment_stored_without_the_flag_at_the_creation_instant_is_the_opening() -> None:
    events = [created(), opening_by_agent(), agent(MON_0900_BERLIN + 2 * H)]  # opening=None

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)

    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert first.stopped_at == MON_0900_BERLIN + 2 * H


def test_agent_comment_the_helpdesk_says_is_no_opening_answers_even_at_the_creation_instant() -> None:
    # Jira: an issue opens with its description; a comment is a reply whenever it is written
    events = [created(), opening_by_agent(opening=False)]

    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)

    (first,) = clocks(result, Metric.FIRST_RESPONSE)
    assert (first.state, first.stopped_at) == (ClockState.MET, MON_0900_BERLIN)
