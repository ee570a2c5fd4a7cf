// The Zendesk sidebar's pure part: settings, what it reads through ZAF, and what it shows.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { fieldPath, pathsFor, readSettings, sidebarModel, valuesFrom } from "../assets/app.js";

const NOW = Date.parse("2026-11-26T13:00:00Z");
const SETTINGS = readSettings({
  tier_field_id: "360000000001",
  sla_due_field_id: "360000000002",
  sla_state_field_id: " 360000000003 ",
  tag_prefix: "",
});

describe("settings", () => {
  test("field ids are read and trimmed", () => {
    assert.deepEqual(SETTINGS, {
      tierField: "360000000001",
      dueField: "360000000002",
      stateField: "360000000003",
      tagPrefix: "",
      problems: [],
    });
  });

  test("the due field is required, ids are digits", () => {
    const s = readSettings({ tier_field_id: "tier", sla_state_field_id: "" });
    assert.equal(s.dueField, null);
    assert.equal(s.tierField, null);
    assert.equal(s.stateField, null);
    assert.deepEqual(s.problems, [
      '"tier_field_id" must be a ticket field id (digits only), not "tier".',
      'Set "sla_due_field_id" in the app settings.',
    ]);
    assert.deepEqual(readSettings(undefined).problems, ['Set "sla_due_field_id" in the app settings.']);
  });

  test("ZAF paths: tags, the agent's locale and zone, and each configured field", () => {
    assert.equal(fieldPath("360000000002"), "ticket.customField:custom_field_360000000002");
    assert.deepEqual(pathsFor(SETTINGS), [
      "ticket.tags",
      "currentUser.locale",
      "currentUser.timeZone",
      "ticket.customField:custom_field_360000000001",
      "ticket.customField:custom_field_360000000002",
      "ticket.customField:custom_field_360000000003",
    ]);
    assert.deepEqual(pathsFor(readSettings({ sla_due_field_id: "7" })), [
      "ticket.tags",
      "currentUser.locale",
      "currentUser.timeZone",
      "ticket.customField:custom_field_7",
    ]);
  });
});

describe("values from a ZAF answer", () => {
  test("fields, tags, locale and IANA zone", () => {
    const values = valuesFrom(
      {
        "ticket.tags": ["tier_enterprise", "sev_high"],
        "ticket.customField:custom_field_360000000001": "enterprise",
        "ticket.customField:custom_field_360000000002": " 2026-11-26T15:08:40Z ",
        "ticket.customField:custom_field_360000000003": null,
        "currentUser.locale": "en-GB",
        "currentUser.timeZone": { ianaName: "Europe/Berlin", name: "Berlin" },
      },
      SETTINGS,
    );
    assert.deepEqual(values, {
      tags: ["tier_enterprise", "sev_high"],
      tier: "enterprise",
      due: "2026-11-26T15:08:40Z",
      state: "",
      locale: "en-GB",
      timeZone: "Europe/Berlin",
    });
  });

  test("an answer with errors or nothing in it gives empty values", () => {
    assert.deepEqual(valuesFrom({ errors: { x: {} } }, SETTINGS), {
      tags: [],
      tier: "",
      due: "",
      state: "",
      locale: "",
      timeZone: "",
    });
  });
});

describe("what the sidebar shows", () => {
  const base = { tags: [], tier: "", due: "", state: "", locale: "en-GB", timeZone: "Europe/Berlin" };
  const model = (values, settings = SETTINGS, now = NOW) => sidebarModel({ ...base, ...values }, settings, now);

  test("running: badges, countdown and the due time in the agent's zone", () => {
    assert.deepEqual(
      model({ tags: ["tier_enterprise", "sev_high"], tier: "enterprise", due: "2026-11-26T15:08:40Z", state: "running" }),
      {
        tier: "Enterprise",
        severity: "High",
        severityClass: "sev-high",
        unmatched: false,
        state: "running",
        stateLabel: "Running",
        countdown: "2h 08m",
        caption: "until breach",
        due: "2026-11-26T15:08:40Z",
        dueLocal: "Thu 26 Nov, 16:08 CET",
      },
    );
  });

  test("amber under 30 minutes even while tierdesk still says running", () => {
    const m = model({ due: "2026-11-26T13:25:00Z", state: "running" });
    assert.equal(m.state, "warning");
    assert.equal(m.countdown, "25m");
  });

  test("breached: negative and red", () => {
    const m = model({ tags: ["sev_critical", "sla_breached"], due: "2026-11-26T12:45:00Z", state: "breached" });
    assert.equal(m.state, "breached");
    assert.equal(m.countdown, "-15m");
    assert.equal(m.caption, "overdue");
    assert.equal(m.severityClass, "sev-critical");
  });

  test("a due instant passing turns the countdown red before the next sync", () => {
    const m = model({ due: "2026-11-26T13:00:00Z", state: "warning" }, SETTINGS, NOW + 90 * 1000);
    assert.equal(m.state, "breached");
    assert.equal(m.countdown, "-1m");
  });

  test("paused", () => {
    const m = model({ state: "paused" });
    assert.equal(m.state, "paused");
    assert.equal(m.countdown, "Paused");
    assert.equal(m.due, "");
    assert.equal(m.dueLocal, "");
  });

  test("met and none", () => {
    assert.equal(model({ state: "met" }).countdown, "Met");
    const none = model({});
    assert.equal(none.state, "none");
    assert.equal(none.countdown, "—");
    assert.equal(none.stateLabel, "No SLA");
  });

  test("without the tier and state fields: tier from the tag, state from the tags", () => {
    const settings = readSettings({ sla_due_field_id: "360000000002" });
    const m = model(
      { tags: ["tier_priority", "sla_warning", "sev_normal"], due: "2026-11-26T17:00:00Z" },
      settings,
    );
    assert.equal(m.tier, "Priority");
    assert.equal(m.state, "warning");
    assert.equal(m.countdown, "4h 00m");
    const running = model({ tags: ["tier_priority"], due: "2026-11-26T17:00:00Z" }, settings);
    assert.equal(running.state, "running");
  });

  test("an unmatched customer is flagged; the prefix setting applies to tags", () => {
    const settings = readSettings({ sla_due_field_id: "1", tag_prefix: "td_" });
    const m = model({ tags: ["td_tier_standard", "td_tier_unmatched", "td_sev_low"] }, settings);
    assert.equal(m.tier, "Standard");
    assert.equal(m.severity, "Low");
    assert.equal(m.unmatched, true);
  });

  test("no tier, no severity: empty labels, no badge class", () => {
    const m = model({});
    assert.equal(m.tier, "");
    assert.equal(m.severity, "");
    assert.equal(m.severityClass, "");
  });
});
