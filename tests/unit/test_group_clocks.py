"""Group ownership clocks (OLAs), pure: holds from group and status changes, measured on the
OLA's calendar against its target."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from connector.domain.group_clocks import Ola, group_holds, ola_holds
from connector.domain.model import Event, EventKind, Status
from tests.unit.engine_helpers import ALWAYS, BERLIN_HOURS, MON_0900_BERLIN, H, created, ev, status, ticket

TIER_1, TIER_2 = "38000000001", "38000000002"
OLAS = {"tier-2": Ola("tier-2", 2 * H, "berlin")}
CALENDARS = {"berlin": BERLIN_HOURS, "24x7": ALWAYS}
ALIASES = {"tier-2": TIER_2}


def moved(at_hours: float, to: str | None, previous: str | None) -> Event:
    return ev(
        EventKind.FIELD_CHANGE,
        MON_0900_BERLIN + timedelta(hours=at_hours),
        field="group_id",
        value=to,
        previous=previous,
    )


def bounced_between_tiers() -> list[Event]:
    """Created in Tier 1 Mon 09:00 Berlin; Tier 2 10:00-13:00, Tier 1 13:00-14:00, Tier 2 again
    14:00 until solved at 16:00."""
    return [
        created(),
        moved(1, TIER_2, TIER_1),
        moved(4, TIER_1, TIER_2),
        moved(5, TIER_2, TIER_1),
        status(MON_0900_BERLIN + 7 * H, Status.SOLVED),
    ]


def test_each_hold_of_a_group_is_measured_on_its_own_and_solving_ends_the_hold() -> None:
    holds = group_holds(ticket(status=Status.SOLVED), bounced_between_tiers())
    assert [(h.group_id, h.started_at, h.ended_at) for h in holds] == [
        (TIER_1, MON_0900_BERLIN, MON_0900_BERLIN + H),
        (TIER_2, MON_0900_BERLIN + H, MON_0900_BERLIN + 4 * H),
        (TIER_1, MON_0900_BERLIN + 4 * H, MON_0900_BERLIN + 5 * H),
        (TIER_2, MON_0900_BERLIN + 5 * H, MON_0900_BERLIN + 7 * H),
    ]


def test_ola_holds_count_business_time_against_the_group_target() -> None:
    now = MON_0900_BERLIN + 8 * H
    measured = ola_holds(ticket(status=Status.SOLVED), bounced_between_tiers(), OLAS, CALENDARS, ALIASES, now)
    assert [(h.ola, h.held, h.within_target, h.settled) for h in measured] == [
        ("tier-2", 3 * H, False, True),
        ("tier-2", 2 * H, True, True),
    ]


def test_a_hold_overnight_counts_only_the_groups_opening_hours() -> None:
    # Tier 2 from Mon 16:00 to Tue 10:00 Berlin: 1 h Monday + 1 h Tuesday on its calendar.
    events = [created(), moved(7, TIER_2, TIER_1), moved(25, TIER_1, TIER_2)]
    measured = ola_holds(ticket(), events, OLAS, CALENDARS, ALIASES, MON_0900_BERLIN + 30 * H)
    assert [h.held for h in measured] == [2 * H]
    on_24x7 = {"tier-2": replace(OLAS["tier-2"], calendar="24x7")}
    assert [
        h.held for h in ola_holds(ticket(), events, on_24x7, CALENDARS, ALIASES, MON_0900_BERLIN + 30 * H)
    ] == [18 * H]


def test_a_running_hold_is_measured_to_now_and_not_settled() -> None:
    events = [created(), moved(1, TIER_2, TIER_1)]
    [hold] = ola_holds(ticket(), events, OLAS, CALENDARS, ALIASES, MON_0900_BERLIN + 2.5 * H)
    assert (hold.ended_at, hold.held, hold.settled) == (None, 1.5 * H, False)


def test_a_reopened_ticket_is_held_again_by_its_group() -> None:
    events = [
        created(),
        moved(1, TIER_2, TIER_1),
        status(MON_0900_BERLIN + 2 * H, Status.SOLVED),
        status(MON_0900_BERLIN + 4 * H, Status.OPEN),
    ]
    holds = group_holds(ticket(), events)
    assert [(h.group_id, h.started_at, h.ended_at) for h in holds] == [
        (TIER_1, MON_0900_BERLIN, MON_0900_BERLIN + H),
        (TIER_2, MON_0900_BERLIN + H, MON_0900_BERLIN + 2 * H),
        (TIER_2, MON_0900_BERLIN + 4 * H, None),
    ]


def test_a_ticket_that_never_changed_group_is_held_by_its_group_since_creation() -> None:
    held = replace(ticket(), group_id=TIER_2)
    [hold] = ola_holds(held, [created()], OLAS, CALENDARS, ALIASES, MON_0900_BERLIN + H)
    assert (hold.group_id, hold.started_at, hold.held) == (TIER_2, MON_0900_BERLIN, H)


def test_an_ola_named_by_group_id_needs_no_alias_and_other_groups_are_left_out() -> None:
    by_id = {TIER_2: Ola(TIER_2, 2 * H, "berlin")}
    now = MON_0900_BERLIN + 8 * H
    measured = ola_holds(ticket(status=Status.SOLVED), bounced_between_tiers(), by_id, CALENDARS, {}, now)
    assert {h.group_id for h in measured} == {TIER_2}
    assert ola_holds(ticket(), bounced_between_tiers(), OLAS, CALENDARS, {"tier-2": "-"}, now) == []


def test_a_jira_team_field_mapped_as_group_is_read_from_the_changelog() -> None:
    from connector.domain.policy import ConnectionConfig
    from connector.ola_clocks import ticket_ola_holds
    from tests.unit.engine_helpers import make_policy

    jira = ConnectionConfig(
        name="zd",  # the helper ticket's connection
        kind="jira",
        url="https://acme.atlassian.net",
        fields={"group": "customfield_10060"},
        aliases={"tier-2": "Tier 2 team"},
    )
    policy = replace(
        make_policy(),
        connections=(jira,),
        olas={"tier-2": Ola("tier-2", 2 * H, "24x7")},
        calendars={"24x7": ALWAYS},
    )
    events = [
        created(),
        ev(
            EventKind.FIELD_CHANGE,
            MON_0900_BERLIN + H,
            field="customfield_10060",
            value="Tier 2 team",
            previous="",
        ),
        ev(EventKind.FIELD_CHANGE, MON_0900_BERLIN + 4 * H, field="customfield_10060", value="Tier 1 team"),
    ]
    [hold] = ticket_ola_holds(ticket(), events, policy, MON_0900_BERLIN + 5 * H)
    assert (hold.group_id, hold.held, hold.within_target) == ("Tier 2 team", 3 * H, False)
