// Preview only (not packaged): a stand-in for the ZAF SDK's ZAFClient so preview.html shows the
// sidebar with sample tickets, without Zendesk and without the network. `?scenario=<name>` picks one
// of the samples below; due instants are relative to the moment the page opens.
(function () {
  "use strict";
  var MIN = 60 * 1000;
  var opened = Date.now();
  function at(offsetMs) {
    return new Date(Math.floor((opened + offsetMs) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  var FIELDS = { tier: "360000000001", due: "360000000002", state: "360000000003" };
  var SCENARIOS = {
    running: { tags: ["tier_enterprise", "sev_high", "vip"], tier: "enterprise", due: at(125.5 * MIN), state: "running" },
    warning: { tags: ["tier_priority", "sev_critical", "sla_warning"], tier: "priority", due: at(12.5 * MIN), state: "warning" },
    breached: { tags: ["tier_standard", "sev_normal", "sla_breached"], tier: "standard", due: at(-15.3 * MIN), state: "breached" },
    paused: { tags: ["tier_enterprise", "sev_low"], tier: "enterprise", due: "", state: "paused" },
    unmatched: { tags: ["tier_standard", "tier_unmatched", "sev_normal"], tier: "standard", due: at(25.5 * MIN), state: "running" },
    met: { tags: ["tier_priority", "sev_normal"], tier: "priority", due: "", state: "met" },
    unconfigured: { tags: ["tier_enterprise", "sev_high"], tier: "", due: "", state: "", settings: {} },
  };
  var name = new URLSearchParams(location.search).get("scenario") || "running";
  var ticket = SCENARIOS[name] || SCENARIOS.running;
  var settings = ticket.settings || {
    tier_field_id: FIELDS.tier,
    sla_due_field_id: FIELDS.due,
    sla_state_field_id: FIELDS.state,
    tag_prefix: "",
  };
  var handlers = {};
  var values = {
    "ticket.tags": ticket.tags,
    "currentUser.locale": "en-GB",
    "currentUser.timeZone": { ianaName: "Europe/Berlin", name: "Berlin" },
  };
  values["ticket.customField:custom_field_" + FIELDS.tier] = ticket.tier || null;
  values["ticket.customField:custom_field_" + FIELDS.due] = ticket.due || null;
  values["ticket.customField:custom_field_" + FIELDS.state] = ticket.state || null;

  var client = {
    get: function (paths) {
      var answer = { errors: {} };
      [].concat(paths).forEach(function (path) {
        if (path in values) answer[path] = values[path];
        else answer.errors[path] = { message: "No such path: " + path };
      });
      return Promise.resolve(answer);
    },
    metadata: function () {
      return Promise.resolve({ appId: 0, installationId: 0, name: "tierdesk SLA", settings: settings });
    },
    on: function (event, handler) {
      (handlers[event] = handlers[event] || []).push(handler);
    },
    invoke: function () {
      return Promise.resolve({});
    },
  };
  window.ZAFClient = {
    init: function () {
      return client;
    },
  };
  // For a manual check in the browser console: tierdeskPreview.set("sla_state", "breached")
  window.tierdeskPreview = {
    set: function (logical, value) {
      values["ticket.customField:custom_field_" + FIELDS[{ tier: "tier", sla_due: "due", sla_state: "state" }[logical]]] = value;
      (handlers["ticket.updated"] || []).forEach(function (h) {
        h();
      });
    },
  };
})();
