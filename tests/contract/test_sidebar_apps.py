"""The helpdesk sidebar apps: the Zendesk ticket sidebar (plugins/zendesk/app) and the Jira issue panel
(plugins/jira/app).

- their manifests are what Zendesk (ZAF v2) and Forge expect;
- their pages reference only files that exist, and need no network beyond the ZAF SDK in Zendesk;
- their pure JavaScript passes its Node test suites (`node --test`);
- the Jira panel reads the issue property exactly as tierdesk's plan writes it;
- the committed preview pages render the expected states in headless Chromium.

Node and Chromium are optional: the tests that need them skip, saying so, when they are not on PATH.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import struct
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
ZENDESK = ROOT / "plugins" / "zendesk" / "app"
JIRA = ROOT / "plugins" / "jira" / "app"
ZAF_SDK = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
FIELD_PARAMETERS = {"tier_field_id", "sla_due_field_id", "sla_state_field_id"}


# ----------------------------------------------------------------------------------- manifests


def test_zendesk_manifest_is_a_zaf_v2_ticket_sidebar_app() -> None:
    manifest = json.loads((ZENDESK / "manifest.json").read_text(encoding="utf-8"))
    for key in ("name", "author", "defaultLocale", "private", "location", "version", "frameworkVersion"):
        assert key in manifest, f"manifest.json lacks {key!r}"
    assert manifest["frameworkVersion"] == "2.0"
    assert manifest["private"] is True
    assert {"name", "email"} <= set(manifest["author"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])

    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    url = sidebar["url"] if isinstance(sidebar, dict) else sidebar
    assert url == "assets/iframe.html"
    assert (ZENDESK / url).is_file()

    parameters = {p["name"]: p for p in manifest["parameters"]}
    assert set(parameters) >= FIELD_PARAMETERS
    assert parameters["sla_due_field_id"]["required"] is True
    assert not any(p.get("secure") for p in parameters.values()), "the app needs no secure settings"
    assert all(p["type"] == "text" for p in parameters.values())

    locale = manifest["defaultLocale"]
    translations = json.loads((ZENDESK / "translations" / f"{locale}.json").read_text(encoding="utf-8"))
    app = translations["app"]
    assert app["name"] and app["short_description"]
    for name in parameters:
        assert app["parameters"][name]["label"], f"no label for parameter {name!r}"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_zendesk_app_has_the_required_logos() -> None:
    assert _png_size(ZENDESK / "assets" / "logo.png") == (320, 320)
    assert _png_size(ZENDESK / "assets" / "logo-small.png") == (128, 128)


def test_zendesk_package_leaves_out_preview_and_tests() -> None:
    ignored = (ZENDESK / ".zcliignore").read_text(encoding="utf-8").split()
    assert {"preview.html", "preview-stub.js", "tests/"} <= set(ignored)


def test_forge_manifest_declares_the_issue_panel_and_its_resource() -> None:
    manifest = yaml.safe_load((JIRA / "manifest.yml").read_text(encoding="utf-8"))
    panels = manifest["modules"]["jira:issuePanel"]
    assert len(panels) == 1
    panel = panels[0]
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", panel["key"])
    assert panel["title"]
    resources = {r["key"]: r["path"] for r in manifest["resources"]}
    assert panel["resource"] in resources
    folder = JIRA / resources[panel["resource"]]
    assert (folder / "index.html").is_file()
    icon = re.fullmatch(r"resource:([^;]+);(.+)", panel["icon"])
    assert icon is not None, "the icon is a file of a declared resource"
    assert icon[1] in resources
    assert (JIRA / resources[icon[1]] / icon[2]).is_file()
    assert "read:jira-work" in manifest["permissions"]["scopes"]
    assert manifest["app"]["id"].startswith("ari:cloud:ecosystem::app/")


def test_both_apps_ship_the_same_countdown_module() -> None:
    zendesk = (ZENDESK / "assets" / "countdown.js").read_bytes()
    jira = (JIRA / "static" / "panel" / "countdown.js").read_bytes()
    assert zendesk == jira, "plugins/*/app countdown.js copies differ: copy one over the other"


# ------------------------------------------------------------------------ pages reference files


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = values.get("src") is None
        if values.get("style") is not None:
            self.inline_styles += 1
        if tag == "style":
            self.inline_styles += 1
        for name in ("src", "href"):
            value = values.get(name)
            if value and tag in {"script", "link", "img", "iframe"}:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _references(page: Path) -> _References:
    parser = _References()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


_IMPORT = re.compile(
    r"""(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)"""
)


def _module_graph(entry: Path) -> set[Path]:
    """Every file an ES module imports, transitively; bare names (packages) are not followed."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        assert module.is_file(), f"{module.relative_to(ROOT)} is imported but does not exist"
        seen.add(module)
        for static, dynamic in _IMPORT.findall(module.read_text(encoding="utf-8")):
            spec = static or dynamic
            if spec.startswith("."):
                todo.append((module.parent / spec).resolve())
            else:
                assert dynamic == "@forge/bridge", f"{module.name} imports the package {spec!r}"
    return seen


PAGES = [
    (ZENDESK / "assets" / "iframe.html", {ZAF_SDK}),
    (ZENDESK / "preview.html", set()),
    (JIRA / "static" / "panel" / "index.html", set()),
    (JIRA / "preview.html", set()),
]


@pytest.mark.parametrize(
    ("page", "remote"), PAGES, ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else ""
)
def test_pages_reference_only_files_that_exist(page: Path, remote: set[str]) -> None:
    refs = _references(page)
    assert refs.urls, f"{page.name} references nothing"
    assert refs.inline_scripts == 0, "no inline scripts (Forge's content security policy forbids them)"
    assert refs.inline_styles == 0, "no inline styles"
    absolute = {u for u in refs.urls if re.match(r"[a-z]+:", u) or u.startswith("//")}
    assert absolute == remote, f"{page.name} loads from the network: {sorted(absolute - remote)}"
    for url in sorted(set(refs.urls) - absolute):
        target = (page.parent / url.split("?")[0].split("#")[0]).resolve()
        assert target.is_file(), f"{page.relative_to(ROOT)} references missing {url}"
        assert target.is_relative_to(page.parent.resolve()) or page.name == "preview.html"
        if target.suffix == ".js":
            _module_graph(target)


def test_the_zendesk_sdk_loads_before_the_app() -> None:
    refs = _references(ZENDESK / "assets" / "iframe.html")
    scripts = [u for u in refs.urls if u.endswith(".js")]
    assert scripts == [ZAF_SDK, "app.js"]


def test_deployed_files_stay_inside_their_package() -> None:
    """Each package (the Zendesk app folder, the Forge resource folder) is self-contained."""
    for entry, package in (
        (ZENDESK / "assets" / "app.js", ZENDESK / "assets"),
        (JIRA / "static" / "panel" / "panel.js", JIRA / "static" / "panel"),
    ):
        for module in _module_graph(entry):
            assert module.is_relative_to(package), f"{module} is outside {package}"


# ------------------------------------------------------------------------------ Node test suites


def _node() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the sidebar apps' JavaScript tests need Node.js >= 20.10")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = (int(x) for x in version.strip().lstrip("v").split(".")[:2])
    if (major, minor) < (20, 10):
        pytest.skip(f"node {version.strip()} is too old: the JavaScript tests need Node.js >= 20.10")
    # The apps' .js files are ES modules without a package.json; Node reads them as such by itself
    # from 20.19 / 22.7 on, and behind this flag before.
    detects = (major == 20 and minor >= 19) or (major == 22 and minor >= 7) or major >= 23
    return [node] if detects else [node, "--experimental-detect-module"]


@pytest.mark.parametrize("app", [ZENDESK, JIRA], ids=["zendesk", "jira"])
def test_javascript_suites_pass(app: Path) -> None:
    node = _node()
    files = sorted(str(p.relative_to(ROOT)) for p in (app / "tests").glob("*.test.mjs"))
    assert files, f"no *.test.mjs under {app / 'tests'}"
    result = subprocess.run(
        [*node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    summary = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert summary is not None and int(summary[1]) > 0


_PANEL_MODEL = """
import { panelModel } from "./plugins/jira/app/static/panel/panel.js";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { property, now } = JSON.parse(input);
const data = { issueKey: "SUP-1", property, locale: "en-GB", timeZone: "UTC" };
console.log(JSON.stringify(panelModel(data, Date.parse(now))));
"""


def _panel_as_shown(events: list[Any], now: datetime, **ticket_fields: Any) -> dict[str, Any]:
    """The issue property tierdesk's evaluation plans for an API-down ticket on a 24x7 calendar
    (first response 1h, resolution 8h), run through the panel's own model at `now`."""
    from connector.domain.engine import evaluate
    from connector.domain.policy import ActionKind
    from tests.unit.engine_helpers import ALWAYS, make_policy, ticket

    subject = ticket(subject="API down", **ticket_fields)
    result = evaluate(subject, events, make_policy(calendar=ALWAYS), now)
    [written] = [a.value for a in result.actions if a.kind is ActionKind.SET_PROPERTY]
    assert written is not None
    property_ = json.loads(written)
    assert set(property_) == {"tier", "tier_label", "severity", "clocks"}
    for clock in property_["clocks"]:
        assert set(clock) == {"metric", "cycle", "state", "target_seconds", "due", "stopped", "calendar"}
    shown = subprocess.run(
        [*_node(), "--input-type=module", "-e", _PANEL_MODEL],
        cwd=ROOT,
        input=json.dumps({"property": property_, "now": now.isoformat()}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    model: dict[str, Any] = json.loads(shown.stdout)
    return model


def _clocks(model: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(c["title"], c["state"], c["countdown"], c["target"], c["calendar"]) for c in model["clocks"]]


def test_jira_panel_reads_the_property_tierdesk_writes() -> None:
    from tests.unit.engine_helpers import MON_0900_BERLIN, H, M, agent, created

    t0 = MON_0900_BERLIN
    running = _panel_as_shown([created(t0)], t0 + 2 * H + 30 * M)
    assert (running["tier"], running["severity"], running["missing"]) == ("Standard", "Critical", False)
    assert _clocks(running) == [
        ("First response", "breached", "-1h 30m", "1h", "24x7"),
        ("Resolution", "running", "5h 30m", "8h", "24x7"),
    ]
    assert running["clocks"][1]["dueLocal"] == "Mon 23 Nov, 16:00 UTC"

    answered_late = _panel_as_shown([created(t0), agent(t0 + H + 10 * M)], t0 + 2 * H)
    assert _clocks(answered_late) == [
        ("Resolution", "running", "6h 00m", "8h", "24x7"),
        ("First response", "breached", "-10m", "1h", "24x7"),
    ]
    stopped = answered_late["clocks"][1]
    assert (stopped["caption"], stopped["stoppedLocal"]) == ("late, clock stopped", "Mon 23 Nov, 09:10 UTC")


def test_jira_panel_shows_a_paused_clock_without_countdown() -> None:
    from connector.domain.model import Status
    from tests.unit.engine_helpers import MON_0900_BERLIN, H, M, agent, created, status

    t0 = MON_0900_BERLIN
    events = [created(t0), agent(t0 + 20 * M), status(t0 + 30 * M, Status.PENDING)]
    paused = _panel_as_shown(events, t0 + 3 * H, status=Status.PENDING)
    assert _clocks(paused) == [("Resolution", "paused", "Paused", "8h", "24x7")]
    assert paused["clocks"][0]["dueLocal"] == ""


# -------------------------------------------------------------------------- previews in Chromium


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH: the preview rendering checks need a headless Chromium")


PREVIEWS = [
    *(
        (ZENDESK / "preview.html", f"scenario={name}")
        for name in ("running", "warning", "breached", "paused")
    ),
    (ZENDESK / "preview.html", "scenario=unconfigured"),
    (JIRA / "preview.html", "scenario=active"),
    (JIRA / "preview.html", "scenario=missing"),
]


def _dump_dom(chromium: str, page: Path, query: str) -> str:
    """The page's DOM after its scripts ran, with every network name unresolvable."""
    with tempfile.TemporaryDirectory(prefix="tierdesk-chromium-") as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--allow-file-access-from-files",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--virtual-time-budget=3000",
                "--dump-dom",
                f"{page.as_uri()}?{query}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@functools.cache
def _rendered(chromium: str) -> dict[tuple[Path, str], str]:
    """Every preview rendered once, side by side (a Chromium start takes a couple of seconds)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        doms = pool.map(lambda pq: _dump_dom(chromium, *pq), PREVIEWS)
        return dict(zip(PREVIEWS, doms, strict=True))


def _render(page: Path, query: str) -> str:
    return _rendered(_chromium())[(page, query)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "state", "countdown", "badges"),
    [
        ("running", "running", "2h 05m", ("Enterprise", "High")),
        ("warning", "warning", "12m", ("Priority", "Critical")),
        ("breached", "breached", "-15m", ("Standard", "Normal")),
        ("paused", "paused", "Paused", ("Enterprise", "Low")),
    ],
)
def test_zendesk_preview_renders(scenario: str, state: str, countdown: str, badges: tuple[str, str]) -> None:
    dom = _render(ZENDESK / "preview.html", f"scenario={scenario}")
    assert f'class="sla state-{state}"' in dom
    value = re.search(r'data-ref="countdown">([^<]*)<', dom)
    assert value is not None
    assert value[1] == countdown
    text = _text(dom)
    for badge in badges:
        assert f"{badge}" in text
    assert 'role="timer" aria-live="polite"' in dom
    if state != "paused":
        assert re.search(r"Due <time[^>]*datetime=\"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\"", dom)


@pytest.mark.slow
def test_zendesk_preview_names_missing_settings() -> None:
    dom = _render(ZENDESK / "preview.html", "scenario=unconfigured")
    assert 'Set "sla_due_field_id" in the app settings.' in dom


@pytest.mark.slow
def test_jira_preview_renders_every_clock() -> None:
    dom = _render(JIRA / "preview.html", "scenario=active")
    states = re.findall(r'<li class="clock state-(\w+)"', dom)
    assert states == ["warning", "running", "running", "breached"]
    values = re.findall(r'class="countdown-value">([^<]*)<', dom)
    assert values == ["22m", "48m", "5h 40m", "-12m"]
    text = _text(dom)
    for expected in ("Enterprise", "Critical", "Next response · cycle 2", "Target 30m", "Calendar 24x7"):
        assert expected in text


@pytest.mark.slow
def test_jira_preview_without_property() -> None:
    dom = _render(JIRA / "preview.html", "scenario=missing")
    assert "tierdesk has not evaluated this issue yet." in dom
