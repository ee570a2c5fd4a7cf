// The Jira issue panel's pure part (panelModel) and its one data access function (loadPanelData).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { panelModel } from "../static/panel/panel.js";
import { loadPanelData } from "../static/panel/source.js";

const NOW = Date.parse("2026-11-26T13:00:00Z");
const PROPERTY = {
  clocks: [
    { calendar: "24x7", cycle: 0, due: "2026-11-26T12:30:00Z", metric: "first_response", state: "breached", stopped: "2026-11-26T12:42:00Z", target_seconds: 900 },
    { calendar: "24x7", cycle: 1, due: "2026-11-26T13:20:00Z", metric: "next_response", state: "running", stopped: "", target_seconds: 1800 },
    { calendar: "berlin-office", cycle: 0, due: "", metric: "resolution", state: "paused", stopped: "", target_seconds: 126000 },
  ],
  severity: "critical",
  tier: "enterprise",
  tier_label: "Enterprise",
};
const DATA = { issueKey: "SUP-123", property: PROPERTY, locale: "en-GB", timeZone: "Europe/Berlin" };

describe("panelModel", () => {
  test("tier, severity and one entry per clock, most urgent first", () => {
    const m = panelModel(DATA, NOW);
    assert.equal(m.issueKey, "SUP-123");
    assert.equal(m.missing, false);
    assert.equal(m.tier, "Enterprise");
    assert.equal(m.severity, "Critical");
    assert.equal(m.severityClass, "sev-critical");
    assert.deepEqual(m.clocks, [
      {
        key: "next_response#1",
        title: "Next response · cycle 2",
        state: "warning",
        stateLabel: "Warning",
        countdown: "20m",
        caption: "until breach",
        target: "30m",
        calendar: "24x7",
        due: "2026-11-26T13:20:00Z",
        dueLocal: "Thu 26 Nov, 14:20 CET",
        stopped: "",
        stoppedLocal: "",
      },
      {
        key: "resolution#0",
        title: "Resolution",
        state: "paused",
        stateLabel: "Paused",
        countdown: "Paused",
        caption: "clock stops in this issue status",
        target: "35h",
        calendar: "berlin-office",
        due: "",
        dueLocal: "",
        stopped: "",
        stoppedLocal: "",
      },
      {
        key: "first_response#0",
        title: "First response",
        state: "breached",
        stateLabel: "Breached",
        countdown: "-12m",
        caption: "late, clock stopped",
        target: "15m",
        calendar: "24x7",
        due: "2026-11-26T12:30:00Z",
        dueLocal: "Thu 26 Nov, 13:30 CET",
        stopped: "2026-11-26T12:42:00Z",
        stoppedLocal: "Thu 26 Nov, 13:42 CET",
      },
    ]);
  });

  test("countdowns move with now; a passed due turns red and negative", () => {
    const later = panelModel(DATA, NOW + 35 * 60 * 1000).clocks[0];
    assert.equal(later.state, "breached");
    assert.equal(later.countdown, "-15m");
    assert.equal(later.caption, "overdue");
  });

  test("no property yet", () => {
    assert.deepEqual(panelModel({ issueKey: "SUP-9", property: null }, NOW), {
      issueKey: "SUP-9",
      missing: true,
      tier: "",
      severity: "",
      clocks: [],
    });
  });
});

/** A stand-in for the host bridge Forge injects into Custom UI frames. */
function fakeBridge(answers) {
  const calls = [];
  return {
    calls,
    __bridge: {
      callBridge: async (name, payload) => {
        calls.push([name, payload]);
        if (name === "getContext") {
          return { extension: { issue: { key: "SUP-123", id: "10042" } }, locale: "en-GB", timezone: "Europe/Berlin" };
        }
        if (name === "fetchProduct") return answers.shift();
        throw new Error(`unexpected bridge call ${name}`);
      },
    },
  };
}

describe("loadPanelData", () => {
  test("injected data (previews, tests) is used as is, or called", async () => {
    assert.equal(await loadPanelData({ __TIERDESK_PANEL__: DATA }), DATA);
    assert.equal(await loadPanelData({ __TIERDESK_PANEL__: async () => DATA }), DATA);
  });

  test("in Jira: the issue from the Forge context, the property through requestJira", async () => {
    const env = fakeBridge([{ status: 200, statusText: "OK", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: "tierdesk", value: PROPERTY }) }]);
    const data = await loadPanelData(env);
    assert.deepEqual(data, { issueKey: "SUP-123", locale: "en-GB", timeZone: "Europe/Berlin", property: PROPERTY });
    const [name, payload] = env.calls[1];
    assert.equal(name, "fetchProduct");
    assert.equal(payload.product, "jira");
    assert.equal(payload.restPath, "/rest/api/3/issue/SUP-123/properties/tierdesk");
    const headers = Object.fromEntries(payload.fetchRequestInit.headers);
    assert.equal(headers.accept, "application/json");
    assert.equal(headers["x-atlassian-token"], "no-check");
  });

  test("404: tierdesk has not written the property yet", async () => {
    const env = fakeBridge([{ status: 404, statusText: "Not Found", headers: {}, body: '{"errorMessages":["The property with key \'tierdesk\' does not exist."]}' }]);
    assert.equal((await loadPanelData(env)).property, null);
  });

  test("other errors are reported", async () => {
    const env = fakeBridge([{ status: 403, statusText: "Forbidden", headers: {}, body: "" }]);
    await assert.rejects(loadPanelData(env), /Jira answered 403/);
  });

  test("outside Jira and without injected data there is nothing to read", async () => {
    await assert.rejects(loadPanelData({}), /Not running inside Jira/);
  });
});
