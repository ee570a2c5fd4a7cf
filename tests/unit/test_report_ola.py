"""The group ownership (OLA) table of `tierdesk report` in every format: JSON carries the same rows
as the text and HTML tables (`olas`: seconds for durations), and reads back into an equal report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connector.domain.formatting import human
from connector.domain.group_clocks import OlaHold
from connector.mappings import load_policy
from connector.report.output import report_from_json, write_report
from connector.store.repository import Store
from tests.store.test_store_contract import CONN, T0, record, ticket

H = timedelta(hours=1)
START, END, NOW = T0 - 24 * H, T0 + 48 * H, T0 + 48 * H


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path}/t.db")
    opened.save_pull_page(CONN, [record(ticket("101")), record(ticket("102"))], None, now=T0)
    holds = [
        ("101", "tier-2", "38000000002", 1, 3 * H, 2 * H),
        ("101", "tier-2", "38000000002", 6, H, 2 * H),
        ("102", "tier-2", "38000000002", 2, 1.5 * H, 2 * H),
        ("102", "billing", "38000000009", 3, 30 * timedelta(minutes=1), 4 * H),
    ]
    opened.record_ola_holds(
        [
            (CONN, ticket_id, OlaHold(ola, group, T0 + h * H, T0 + h * H + held, held, target))
            for ticket_id, ola, group, h, held, target in holds
        ],
        "v1",
        NOW,
    )
    yield opened
    opened.close()


def written(store: Store, tmp_path: Path, fmt: str) -> str:
    out = tmp_path / f"report.{fmt}"
    write_report(store, load_policy(Path("mappings")), out, fmt, START, END, NOW)  # type: ignore[arg-type]
    return out.read_text(encoding="utf-8")


def test_the_json_report_carries_the_ola_rows_the_text_and_html_tables_show(
    store: Store, tmp_path: Path
) -> None:
    document = json.loads(written(store, tmp_path, "json"))
    text = written(store, tmp_path, "text")
    page = written(store, tmp_path, "html")

    assert document["olas"] == [
        {
            "group": "billing",
            "tickets": 1,
            "holds": 1,
            "held_p50": 1800.0,
            "held_p90": 1800.0,
            "targets": [14400.0],
            "within_percent": 100.0,
        },
        {
            "group": "tier-2",
            "tickets": 2,
            "holds": 3,
            "held_p50": 5400.0,
            "held_p90": 9720.0,
            "targets": [7200.0],
            "within_percent": 100.0 * 2 / 3,
        },
    ]
    from_json = [
        [
            row["group"],
            str(row["tickets"]),
            str(row["holds"]),
            human(timedelta(seconds=row["held_p50"])),
            human(timedelta(seconds=row["held_p90"])),
            " / ".join(human(timedelta(seconds=t)) for t in row["targets"]),
            f"{row['within_percent']:.1f}%",
        ]
        for row in document["olas"]
    ]
    text_rows = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith(("│ billing", "│ tier-2"))
    ]
    section = page[page.index('<section id="olas">') :]
    html_rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(<td>.*?)</tr>", section)]
    assert from_json == text_rows == html_rows
    assert from_json[1] == ["tier-2", "2", "3", "1h30m", "2h42m", "2h", "66.7%"]


def test_a_json_report_with_olas_reads_back_into_an_equal_report(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    report = write_report(store, load_policy(Path("mappings")), out, "json", START, END, NOW)

    assert len(report.olas) == 2
    assert report_from_json(out.read_text(encoding="utf-8")) == report


def test_a_period_without_settled_holds_has_an_empty_ola_list(tmp_path: Path) -> None:
    empty = Store.open(f"sqlite:///{tmp_path}/empty.db")
    try:
        document = json.loads(written(empty, tmp_path, "json"))
    finally:
        empty.close()
    assert document["olas"] == []
