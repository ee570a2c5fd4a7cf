// Preview only (not deployed): sample `tierdesk` issue properties for preview.html, in exactly the
// shape tierdesk writes, with due instants relative to the moment the page opens.
// `?scenario=active|paused|missing` picks one.
(function () {
  "use strict";
  var MIN = 60 * 1000;
  var opened = Date.now();
  function at(offsetMs) {
    return new Date(Math.floor((opened + offsetMs) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  var SCENARIOS = {
    // Enterprise / critical on 24x7: the first response was late; the customer wrote again; the
    // resolution clock runs.
    active: {
      clocks: [
        { calendar: "24x7", cycle: 0, due: at(-130 * MIN), metric: "first_response", state: "breached", stopped: at(-118 * MIN), target_seconds: 900 },
        { calendar: "24x7", cycle: 1, due: at(22.5 * MIN), metric: "next_response", state: "running", stopped: "", target_seconds: 1800 },
        { calendar: "24x7", cycle: 2, due: at(48.5 * MIN), metric: "periodic_update", state: "running", stopped: "", target_seconds: 3600 },
        { calendar: "24x7", cycle: 0, due: at(340.5 * MIN), metric: "resolution", state: "running", stopped: "", target_seconds: 28800 },
      ],
      severity: "critical",
      tier: "enterprise",
      tier_label: "Enterprise",
    },
    // Priority / high on a business-hours calendar, waiting on the customer: resolution is paused.
    paused: {
      clocks: [
        { calendar: "berlin-extended", cycle: 0, due: "", metric: "resolution", state: "paused", stopped: "", target_seconds: 93600 },
        { calendar: "berlin-extended", cycle: 0, due: at(-15.3 * MIN), metric: "periodic_update", state: "breached", stopped: "", target_seconds: 28800 },
      ],
      severity: "high",
      tier: "priority",
      tier_label: "Priority",
    },
    missing: null,
  };
  var name = new URLSearchParams(location.search).get("scenario") || "active";
  window.__TIERDESK_PANEL__ = {
    issueKey: "SUP-123",
    locale: "en-GB",
    timeZone: "Europe/Berlin",
    property: name in SCENARIOS ? SCENARIOS[name] : SCENARIOS.active,
  };
})();
