// tierdesk ticket sidebar for Zendesk Support (Zendesk Apps Framework v2).
//
// Shows what tierdesk wrote on the ticket: the tier and severity (tags `tier_<tier>`, `sev_<severity>`
// and the `tier` field), the SLA state (`sla_state` field, or the `sla_warning` / `sla_breached` tags)
// and a live countdown to the `sla_due` field, the earliest due instant of the ticket's running SLA
// clocks. The app only reads the ticket; tierdesk's worker is what writes these values.
//
// The pure part (settings, model) is exported for tests; the page starts itself when the ZAF SDK
// (or the preview's stand-in) has defined `ZAFClient`.

import {
  effectiveState,
  formatLocal,
  formatRemaining,
  humanize,
  isUnmatched,
  remaining,
  severityClass,
  severityOf,
  stateFromTags,
  stateLabel,
  tierOf,
} from "./countdown.js";

const CAPTIONS = {
  running: "until breach",
  warning: "until breach",
  breached: "overdue",
  paused: "clock stops in this ticket status",
  met: "all SLA targets met",
  none: "no SLA clock running",
};

/** The ZAF path of a custom ticket field. */
export function fieldPath(id) {
  return `ticket.customField:custom_field_${id}`;
}

/** App settings (manifest parameters) checked: field ids are digits; problems are listed for the admin. */
export function readSettings(raw) {
  const settings = raw && typeof raw === "object" ? raw : {};
  const problems = [];
  const id = (name, required) => {
    const value = String(settings[name] ?? "").trim();
    if (value === "") {
      if (required) problems.push(`Set "${name}" in the app settings.`);
      return null;
    }
    if (!/^\d+$/.test(value)) {
      problems.push(`"${name}" must be a ticket field id (digits only), not "${value}".`);
      return null;
    }
    return value;
  };
  return {
    tierField: id("tier_field_id", false),
    dueField: id("sla_due_field_id", true),
    stateField: id("sla_state_field_id", false),
    tagPrefix: String(settings.tag_prefix ?? "").trim(),
    problems,
  };
}

/** The ZAF paths the sidebar reads for these settings. */
export function pathsFor(settings) {
  const paths = ["ticket.tags", "currentUser.locale", "currentUser.timeZone"];
  for (const id of [settings.tierField, settings.dueField, settings.stateField]) {
    if (id) paths.push(fieldPath(id));
  }
  return paths;
}

/** Ticket values out of a `client.get(paths)` answer (a path ZAF could not read counts as empty). */
export function valuesFrom(data, settings) {
  const d = data && typeof data === "object" ? data : {};
  const text = (id) => {
    if (!id) return "";
    const value = d[fieldPath(id)];
    return value === null || value === undefined ? "" : String(value).trim();
  };
  const zone = d["currentUser.timeZone"];
  return {
    tags: Array.isArray(d["ticket.tags"]) ? d["ticket.tags"] : [],
    tier: text(settings.tierField),
    due: text(settings.dueField),
    state: text(settings.stateField),
    locale: typeof d["currentUser.locale"] === "string" ? d["currentUser.locale"] : "",
    timeZone: zone && typeof zone === "object" && typeof zone.ianaName === "string" ? zone.ianaName : "",
  };
}

/** Everything the sidebar shows at `nowMs`, from the ticket's values. */
export function sidebarModel(values, settings, nowMs) {
  const prefix = settings.tagPrefix ?? "";
  const tierName = values.tier || tierOf(values.tags, prefix) || "";
  const severity = severityOf(values.tags, prefix) || "";
  const written = values.state || stateFromTags(values.tags, prefix) || (values.due ? "running" : "none");
  const left = remaining(values.due, nowMs);
  const state = effectiveState(written, left);
  let countdown;
  if (state === "paused") countdown = "Paused";
  else if (state === "met" && left === null) countdown = "Met";
  else countdown = formatRemaining(left);
  return {
    tier: humanize(tierName),
    severity: humanize(severity),
    severityClass: severity ? severityClass(severity) : "",
    unmatched: isUnmatched(values.tags, prefix),
    state,
    stateLabel: stateLabel(state),
    countdown,
    caption: CAPTIONS[state] ?? "",
    due: left === null ? "" : values.due,
    dueLocal: left === null ? "" : formatLocal(values.due, values.locale, values.timeZone),
  };
}

// ------------------------------------------------------------------------------------- the page

const MARKUP = `
  <header class="badges" aria-label="Ticket tier and severity">
    <span class="badge badge-tier" data-ref="tier-badge"><span class="visually-hidden">Tier: </span><span data-ref="tier"></span></span>
    <span class="badge badge-sev" data-ref="sev-badge"><span class="visually-hidden">Severity: </span><span data-ref="severity"></span></span>
  </header>
  <p class="note" data-ref="unmatched" hidden>No customer rule matched: the default tier applies.</p>
  <section class="sla state-none" data-ref="sla" aria-labelledby="sla-title">
    <div class="sla-head">
      <h2 id="sla-title" class="sla-title">Next SLA target</h2>
      <span class="pill" data-ref="state"></span>
    </div>
    <p class="countdown" role="timer" aria-live="polite" aria-atomic="true">
      <span class="countdown-value" data-ref="countdown">—</span>
      <span class="countdown-caption" data-ref="caption"></span>
    </p>
    <p class="due" data-ref="due-row" hidden>Due <time data-ref="due"></time></p>
  </section>
  <div class="problems" data-ref="problems" role="alert" hidden></div>
`;

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Renders the sidebar into `root` and keeps it current; returns a function that stops it. */
export function mount(root, client, { now = () => Date.now(), tickMs = 1000 } = {}) {
  root.innerHTML = MARKUP;
  root.removeAttribute("aria-busy");
  const ref = (name) => root.querySelector(`[data-ref="${name}"]`);
  const els = {
    tierBadge: ref("tier-badge"),
    tier: ref("tier"),
    sevBadge: ref("sev-badge"),
    severity: ref("severity"),
    unmatched: ref("unmatched"),
    sla: ref("sla"),
    state: ref("state"),
    countdown: ref("countdown"),
    caption: ref("caption"),
    dueRow: ref("due-row"),
    due: ref("due"),
    problems: ref("problems"),
  };
  let settings = readSettings({});
  let values = null;
  let lastHeight = 0;

  const showProblems = (messages) => {
    els.problems.hidden = messages.length === 0;
    els.problems.replaceChildren(
      ...messages.map((m) => Object.assign(document.createElement("p"), { textContent: m })),
    );
  };

  const resize = () => {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== lastHeight) {
      lastHeight = height;
      Promise.resolve(client.invoke?.("resize", { width: "100%", height: `${height}px` })).catch(() => {});
    }
  };

  const render = () => {
    if (values === null) return;
    const m = sidebarModel(values, settings, now());
    setText(els.tier, m.tier || "No tier");
    els.tierBadge.classList.toggle("is-empty", !m.tier);
    setText(els.severity, m.severity || "No severity");
    els.sevBadge.className = `badge badge-sev ${m.severityClass || "is-empty"}`;
    els.unmatched.hidden = !m.unmatched;
    const cls = `sla state-${m.state}`;
    if (els.sla.className !== cls) els.sla.className = cls;
    setText(els.state, m.stateLabel);
    setText(els.countdown, m.countdown);
    setText(els.caption, m.caption);
    els.dueRow.hidden = !m.due;
    if (els.due.getAttribute("datetime") !== m.due) els.due.setAttribute("datetime", m.due);
    setText(els.due, m.dueLocal);
    els.due.title = m.due;
    resize();
  };

  const reload = async () => {
    try {
      const data = await client.get(pathsFor(settings));
      values = valuesFrom(data, settings);
      const unreadable = Object.keys(data?.errors ?? {}).filter((p) => p.startsWith("ticket.customField:"));
      showProblems([
        ...settings.problems,
        ...unreadable.map((p) => `Zendesk has no ticket field ${p.split("custom_field_")[1]}: check the app settings.`),
      ]);
    } catch (error) {
      showProblems([`Could not read the ticket: ${error?.message ?? error}`]);
    }
    render();
  };

  let pending = null;
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(reload, 150);
  };

  const timer = setInterval(render, tickMs);
  (async () => {
    try {
      const meta = await client.metadata();
      settings = readSettings(meta?.settings);
    } catch (error) {
      settings = readSettings({});
      settings.problems.push(`Could not read the app settings: ${error?.message ?? error}`);
    }
    client.on?.("ticket.updated", soon);
    client.on?.("ticket.tags.changed", soon);
    for (const id of [settings.tierField, settings.dueField, settings.stateField]) {
      if (id) client.on?.(`ticket.custom_field_${id}.changed`, soon);
    }
    await reload();
  })();
  return () => {
    clearInterval(timer);
    clearTimeout(pending);
  };
}

if (typeof document !== "undefined") {
  const root = document.getElementById("app");
  if (root && globalThis.ZAFClient) {
    mount(root, globalThis.ZAFClient.init());
  } else if (root) {
    root.removeAttribute("aria-busy");
    root.textContent = "The Zendesk Apps SDK did not load: this page runs inside Zendesk Support.";
  }
}
