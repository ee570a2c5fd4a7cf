// Pure countdown/formatting logic of the sidebar apps (countdown.js; the Jira panel ships the same file).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  WARN_BEFORE_MS,
  clockView,
  effectiveState,
  formatLocal,
  formatRemaining,
  formatTarget,
  humanize,
  isUnmatched,
  metricLabel,
  normalizePanel,
  parseInstant,
  remaining,
  severityClass,
  severityOf,
  stateClass,
  stateFromTags,
  stateLabel,
  tierOf,
} from "../assets/countdown.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const NOW = Date.parse("2026-11-26T13:00:00Z");

describe("remaining", () => {
  test("milliseconds until the due instant, negative after it", () => {
    assert.equal(remaining("2026-11-26T15:08:40Z", NOW), 2 * H + 8 * M + 40 * S);
    assert.equal(remaining("2026-11-26T12:45:00Z", NOW), -15 * M);
    assert.equal(remaining("2026-11-26T13:00:00Z", NOW), 0);
  });

  test("offsets and fractions are read as the instant they name", () => {
    assert.equal(remaining("2026-11-26T15:00:00+01:00", NOW), H);
    assert.equal(remaining("2026-11-26T13:00:00.500Z", NOW), 500);
  });

  test("no due, or one that is not a full timestamp, gives null", () => {
    for (const due of ["", "   ", null, undefined, "soon", "2026-11-26", "2026-11-26T15:08:40", 42]) {
      assert.equal(remaining(due, NOW), null, String(due));
    }
    assert.equal(parseInstant("2026-13-45T99:00:00Z"), null);
  });
});

describe("formatRemaining", () => {
  const cases = [
    [2 * H + 5 * M, "2h 05m"],
    [2 * H + 5 * M + 59 * S, "2h 05m"],
    [-15 * M, "-15m"],
    [-(15 * M + 59 * S), "-15m"],
    [15 * M, "15m"],
    [59 * M + 59 * S, "59m"],
    [H, "1h 00m"],
    [D + 4 * H + 30 * M, "1d 04h"],
    [-(3 * D), "-3d 00h"],
    [45 * S, "45s"],
    [400, "1s"],
    [0, "0s"],
    [-400, "-1s"],
    [-(59 * S), "-59s"],
    [-M, "-1m"],
  ];
  for (const [ms, text] of cases) {
    test(`${ms} ms -> ${text}`, () => assert.equal(formatRemaining(ms), text));
  }

  test("no due shows a dash", () => {
    assert.equal(formatRemaining(null), "—");
    assert.equal(formatRemaining(undefined), "—");
    assert.equal(formatRemaining(Number.NaN), "—");
  });
});

describe("formatTarget", () => {
  const cases = [
    [900, "15m"],
    [3600, "1h"],
    [5400, "1h 30m"],
    [26 * 3600, "26h"],
    [8 * 3600, "8h"],
    [86400, "1d"],
    [3 * 86400, "3d"],
    [45, "45s"],
    [3661, "1h 1m 1s"],
  ];
  for (const [seconds, text] of cases) {
    test(`${seconds} s -> ${text}`, () => assert.equal(formatTarget(seconds), text));
  }
  test("no target shows a dash", () => {
    assert.equal(formatTarget(null), "—");
    assert.equal(formatTarget(0), "—");
  });
});

describe("tags", () => {
  const tags = ["vip", "tier_enterprise", "tier_unmatched", "sev_critical", "sla_warning"];

  test("tier and severity come from their tag families", () => {
    assert.equal(tierOf(tags), "enterprise");
    assert.equal(severityOf(tags), "critical");
  });

  test("the unmatched flag is never taken for the tier", () => {
    assert.equal(tierOf(["tier_unmatched", "tier_standard"]), "standard");
    assert.equal(tierOf(["tier_unmatched"]), null);
    assert.equal(isUnmatched(tags), true);
    assert.equal(isUnmatched(["tier_standard"]), false);
  });

  test("a tag prefix is honoured", () => {
    const prefixed = ["td_tier_priority", "td_sev_high", "tier_other", "td_sla_breached"];
    assert.equal(tierOf(prefixed, "td_"), "priority");
    assert.equal(severityOf(prefixed, "td_"), "high");
    assert.equal(severityOf(prefixed), null);
    assert.equal(stateFromTags(prefixed, "td_"), "breached");
  });

  test("state from tags: breached wins over warning", () => {
    assert.equal(stateFromTags(["sla_warning"]), "warning");
    assert.equal(stateFromTags(["sla_warning", "sla_breached"]), "breached");
    assert.equal(stateFromTags([]), null);
    assert.equal(stateFromTags(undefined), null);
  });

  test("no tags, no values", () => {
    assert.equal(tierOf(undefined), null);
    assert.equal(severityOf([]), null);
    assert.equal(tierOf(["tier_"]), null);
  });
});

describe("state and colour class", () => {
  test("the written state when time is comfortable", () => {
    assert.equal(effectiveState("running", 2 * H), "running");
    assert.equal(stateClass("running", 2 * H), "state-running");
  });

  test("amber under 30 minutes, or whenever tierdesk wrote warning", () => {
    assert.equal(WARN_BEFORE_MS, 30 * M);
    assert.equal(stateClass("running", 30 * M - S), "state-warning");
    assert.equal(stateClass("running", 30 * M), "state-running");
    assert.equal(stateClass("warning", 5 * H), "state-warning");
  });

  test("red once the due instant has passed, whatever was written", () => {
    assert.equal(stateClass("running", -S), "state-breached");
    assert.equal(stateClass("warning", -S), "state-breached");
    assert.equal(stateClass("breached", 10 * M), "state-breached");
    assert.equal(stateClass("running", 0), "state-warning");
  });

  test("paused and met are shown as written", () => {
    assert.equal(stateClass("paused", null), "state-paused");
    assert.equal(stateClass("paused", -M), "state-paused");
    assert.equal(stateClass("met", null), "state-met");
  });

  test("nothing to count down", () => {
    assert.equal(stateClass("", null), "state-none");
    assert.equal(stateClass("none", null), "state-none");
    assert.equal(stateClass(null, null), "state-none");
    assert.equal(stateClass("running", null), "state-running");
    assert.equal(stateClass(" Breached ", null), "state-breached");
  });

  test("labels", () => {
    assert.equal(stateLabel("breached"), "Breached");
    assert.equal(stateLabel("none"), "No SLA");
    assert.equal(metricLabel("first_response"), "First response");
    assert.equal(metricLabel("periodic_update"), "Periodic update");
    assert.equal(metricLabel("custom_metric"), "Custom metric");
    assert.equal(humanize("enterprise_plus"), "Enterprise plus");
    assert.equal(humanize(""), "");
    assert.equal(severityClass("critical"), "sev-critical");
    assert.equal(severityClass("p1"), "sev-other");
  });
});

describe("formatLocal", () => {
  test("the due instant in the agent's zone and locale", () => {
    assert.equal(formatLocal("2026-11-26T15:08:40Z", "en-GB", "UTC"), "Thu 26 Nov, 15:08 UTC");
    assert.equal(formatLocal("2026-11-26T15:08:40Z", "en-GB", "Europe/Berlin"), "Thu 26 Nov, 16:08 CET");
    assert.equal(formatLocal("2026-07-01T10:00:00Z", "en-GB", "Europe/Berlin"), "Wed 1 Jul, 12:00 CEST");
  });

  test("an unknown zone falls back instead of failing", () => {
    assert.notEqual(formatLocal("2026-11-26T15:08:40Z", "en-GB", "Mars/Olympus"), "");
  });

  test("no due, no text", () => {
    assert.equal(formatLocal("", "en-GB", "UTC"), "");
  });
});

describe("issue panel data", () => {
  const property = {
    clocks: [
      { calendar: "24x7", cycle: 0, due: "2026-11-26T12:30:00Z", metric: "first_response", state: "breached", stopped: "2026-11-26T12:42:00Z", target_seconds: 900 },
      { calendar: "24x7", cycle: 0, due: "2026-11-26T20:00:00Z", metric: "resolution", state: "running", stopped: "", target_seconds: 28800 },
      { calendar: "berlin-office", cycle: 0, due: "", metric: "periodic_update", state: "paused", stopped: "", target_seconds: 14400 },
      { calendar: "24x7", cycle: 1, due: "2026-11-26T13:20:00Z", metric: "next_response", state: "running", stopped: "", target_seconds: 1800 },
    ],
    severity: "critical",
    tier: "enterprise",
    tier_label: "Enterprise",
  };

  test("normalised: live clocks by due, undated after them, stopped ones last", () => {
    const panel = normalizePanel(property);
    assert.equal(panel.tierLabel, "Enterprise");
    assert.equal(panel.severity, "critical");
    assert.deepEqual(
      panel.clocks.map((c) => `${c.metric}#${c.cycle}`),
      ["next_response#1", "resolution#0", "periodic_update#0", "first_response#0"],
    );
    assert.deepEqual(panel.clocks[0], {
      metric: "next_response",
      cycle: 1,
      state: "running",
      targetSeconds: 1800,
      due: "2026-11-26T13:20:00Z",
      stopped: "",
      calendar: "24x7",
    });
  });

  test("malformed parts become defaults", () => {
    assert.deepEqual(normalizePanel(null), { tier: "", tierLabel: "", severity: "", clocks: [] });
    const panel = normalizePanel({ tier: "gold", clocks: [null, { metric: 3, cycle: "x" }] });
    assert.equal(panel.tierLabel, "Gold");
    assert.deepEqual(panel.clocks, [
      { metric: "", cycle: 0, state: "", targetSeconds: null, due: "", stopped: "", calendar: "" },
    ]);
  });

  test("each clock's view at now", () => {
    const [next, resolution, periodic, first] = normalizePanel(property).clocks;
    assert.deepEqual(clockView(next, NOW), { state: "warning", text: "20m", live: true });
    assert.deepEqual(clockView(resolution, NOW), { state: "running", text: "7h 00m", live: true });
    assert.deepEqual(clockView(periodic, NOW), { state: "paused", text: "Paused", live: false });
    assert.deepEqual(clockView(first, NOW), { state: "breached", text: "-12m", live: false });
    assert.deepEqual(clockView(next, NOW + 21 * M), { state: "breached", text: "-1m", live: true });
  });
});
