"""Zendesk custom statuses mapped to pause categories, through the real adapter and the emulator:
"Waiting on vendor" (category hold) keeps the customer's resolution clock running, "Waiting on
customer" (category pending) pauses it, and `tierdesk doctor` sees the statuses the mappings name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from connector.doctor.runner import run_doctor
from connector.domain.engine import evaluate
from connector.domain.model import EventKind, Status
from connector.domain.policy import Metric
from connector.ports import TicketRecord
from connector.secrets import EnvSecrets
from connector.store.repository import Store
from plugins.zendesk import connect, directory
from plugins.zendesk.emulator.seed import http_caller
from plugins.zendesk.testing import FAST_RETRY, Harness, running_emulator
from tests.e2e.support import EXAMPLE_MAPPINGS, run_cli
from tests.unit.engine_helpers import MON_0900_BERLIN, H, make_policy

pytestmark = pytest.mark.contract

VENDOR_AND_CUSTOMER = {"Waiting on vendor": Status.OPEN, "waiting on customer": Status.PENDING}


@pytest.fixture
def harness() -> Iterator[Harness]:
    with running_emulator(start=MON_0900_BERLIN) as h:
        yield h


def custom_status(h: Harness, label: str, category: str) -> int:
    created = http_caller(h.url)(
        "POST",
        "/api/v2/custom_statuses.json",
        {"custom_status": {"agent_label": label, "status_category": category}},
    )
    return int(created["custom_status"]["id"])


def waiting_on_vendor_then_customer(h: Harness) -> str:
    """A ticket opened Monday 09:00 Berlin, 'Waiting on vendor' from 10:00, 'Waiting on customer'
    from 12:00."""
    vendor = custom_status(h, "Waiting on vendor", "hold")
    customer = custom_status(h, "Waiting on customer", "pending")
    call = http_caller(h.url)
    requester = call(
        "POST", "/api/v2/users.json", {"user": {"name": "Dana", "email": "dana@customer.example"}}
    )["user"]["id"]
    ticket = call(
        "POST",
        "/api/v2/tickets.json",
        {"ticket": {"subject": "Export fails", "comment": {"body": "help"}, "requester_id": requester}},
    )["ticket"]
    for status_id in (vendor, customer):
        h.advance(timedelta(hours=1 if status_id == vendor else 2).total_seconds())
        call("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": {"custom_status_id": status_id}})
    h.advance(3600)
    return str(ticket["id"])


def pull_one(h: Harness, status_map: dict[str, Status], ticket_id: str) -> TicketRecord:
    adapter = connect(replace(h.config(), status_map=status_map), retry=FAST_RETRY, sleep=h.sleep)
    records = [r for page in adapter.pull(None) for r in page.records if r.ticket.id == ticket_id]
    assert len(records) == 1
    return records[0]


def test_emulator_serves_default_and_created_custom_statuses_and_tickets_carry_them(harness: Harness) -> None:
    ticket_id = waiting_on_vendor_then_customer(harness)
    listed = http_caller(harness.url)("GET", "/api/v2/custom_statuses.json", None)["custom_statuses"]
    by_label = {s["agent_label"]: s for s in listed}
    assert {s["status_category"] for s in listed if s["default"]} == {
        "new",
        "open",
        "pending",
        "hold",
        "solved",
    }
    vendor = by_label["Waiting on vendor"]["id"]
    assert by_label["Waiting on vendor"]["status_category"] == "hold"
    shown = http_caller(harness.url)("GET", f"/api/v2/tickets/{ticket_id}.json", None)["ticket"]
    relisted = http_caller(harness.url)("GET", "/api/v2/custom_statuses.json", None)["custom_statuses"]
    customer = next(s["id"] for s in relisted if s["agent_label"] == "Waiting on customer")
    assert shown["custom_status_id"] == customer
    assert shown["status"] == "pending"  # the category of "Waiting on customer"
    assert vendor != customer


def test_waiting_on_vendor_keeps_resolution_running_and_waiting_on_customer_pauses_it(
    harness: Harness,
) -> None:
    ticket_id = waiting_on_vendor_then_customer(harness)
    record = pull_one(harness, VENDOR_AND_CUSTOMER, ticket_id)
    changes = [(e.value, e.previous, e.status) for e in record.events if e.kind is EventKind.STATUS_CHANGE]
    assert changes == [
        ("Waiting on vendor", "New", Status.OPEN),
        ("Waiting on customer", "Waiting on vendor", Status.PENDING),
    ]
    assert record.ticket.status is Status.PENDING
    now = MON_0900_BERLIN + 4 * H
    result = evaluate(record.ticket, record.events, make_policy(), now)
    resolution = next(c for c in result.clocks if c.metric is Metric.RESOLUTION)
    # 09:00-12:00 counted (vendor wait included), paused from 12:00 on the customer
    assert resolution.elapsed == 3 * H
    assert resolution.paused_spans[0].start == MON_0900_BERLIN + 3 * H


def test_unmapped_custom_status_means_its_category(harness: Harness) -> None:
    ticket_id = waiting_on_vendor_then_customer(harness)
    record = pull_one(harness, {}, ticket_id)  # no mapping: "Waiting on vendor" is on-hold
    result = evaluate(record.ticket, record.events, make_policy(), MON_0900_BERLIN + 4 * H)
    resolution = next(c for c in result.clocks if c.metric is Metric.RESOLUTION)
    assert resolution.elapsed == H  # paused from 10:00 (hold), still paused (pending)
    assert [e.status for e in record.events if e.kind is EventKind.STATUS_CHANGE] == [
        Status.ON_HOLD,
        Status.PENDING,
    ]


def test_doctor_lists_custom_statuses_by_label_and_id(harness: Harness) -> None:
    vendor = custom_status(harness, "Waiting on vendor", "hold")
    entries = directory(harness.config()).statuses()
    names = {entry.name for entry in entries}
    assert {"hold", "Waiting on vendor", str(vendor)} <= names
    assert "Waiting on customer" not in names


def test_explain_shows_each_custom_status_what_it_counts_as_and_what_it_pauses(
    harness: Harness, tmp_path: Path
) -> None:
    ticket_id = waiting_on_vendor_then_customer(harness)
    adapter = connect(
        replace(harness.config("zendesk-main"), status_map=VENDOR_AND_CUSTOMER), retry=FAST_RETRY
    )
    records = [r for page in adapter.pull(None) for r in page.records if r.ticket.id == ticket_id]
    shutil.copytree(EXAMPLE_MAPPINGS, tmp_path / "mappings")
    store = Store.open(f"sqlite:///{tmp_path / 'tierdesk.db'}")
    try:
        store.save_pull_page("zendesk-main", records, None, now=MON_0900_BERLIN + 4 * H)
    finally:
        store.close()
    now = (MON_0900_BERLIN + 4 * H).isoformat()
    ran = run_cli(["explain", f"zendesk-main:{ticket_id}", "--now", now], tmp_path, columns=200)
    assert ran.returncode == 0, ran.stderr
    rows = {
        cells[1]: cells[2:]
        for line in ran.stdout.splitlines()
        if (cells := [c.strip() for c in line.split("│") if c.strip()]) and len(cells) == 4
    }
    assert rows["Waiting on vendor"] == ["open", "-"]
    assert rows["Waiting on customer"] == ["pending", "periodic_update, resolution"]


def test_doctor_reports_a_status_map_name_that_matches_no_custom_status(harness: Harness) -> None:
    custom_status(harness, "Waiting on vendor", "hold")
    custom_status(harness, "Waiting on customer", "pending")
    config = replace(
        harness.config(),
        email_env="ZD_EMAIL",
        token_env="ZD_TOKEN",
        status_map={"waiting on vendr": Status.OPEN, "waiting on customer": Status.PENDING},
    )
    secrets = EnvSecrets({"ZD_EMAIL": "tierdesk@example.com", "ZD_TOKEN": "emulator"})
    findings, checked = run_doctor(replace(make_policy(), connections=(config,)), secrets)
    about_statuses = [f.problem for f in findings if "status_map" in f.problem]
    assert checked == ["zd"]
    assert about_statuses == [
        "status_map names status 'waiting on vendr', which does not exist; did you mean 'Waiting on vendor'?"
    ]
