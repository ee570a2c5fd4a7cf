// tierdesk Jira issue panel: the issue's tier and severity, and every SLA clock tierdesk is running
// for it, each with a live countdown to its due instant, its state, its target and its calendar.
//
// Data: the `tierdesk` issue property (see source.js). It holds due instants, not elapsed time, so
// the countdowns tick here every second and the property is re-read once a minute.

import {
  clockView,
  formatLocal,
  formatTarget,
  humanize,
  metricLabel,
  normalizePanel,
  severityClass,
  stateLabel,
} from "./countdown.js";
import { loadPanelData } from "./source.js";

const REFRESH_MS = 60 * 1000;

const CAPTIONS = {
  running: "until breach",
  warning: "until breach",
  breached: "overdue",
  paused: "clock stops in this issue status",
};

/** What the panel shows at `nowMs` for loaded data (pure; exported for tests). */
export function panelModel(data, nowMs) {
  const property = data?.property;
  if (property === null || property === undefined) {
    return { issueKey: data?.issueKey ?? "", missing: true, tier: "", severity: "", clocks: [] };
  }
  const panel = normalizePanel(property);
  const locale = data.locale || undefined;
  const timeZone = data.timeZone || undefined;
  const clocks = panel.clocks.map((clock) => {
    const view = clockView(clock, nowMs);
    const stopped = clock.stopped !== "";
    let caption = CAPTIONS[view.state] ?? "";
    if (stopped) caption = view.state === "breached" ? "late, clock stopped" : "met, clock stopped";
    return {
      key: `${clock.metric}#${clock.cycle}`,
      title: clock.cycle > 0 ? `${metricLabel(clock.metric)} · cycle ${clock.cycle + 1}` : metricLabel(clock.metric),
      state: view.state,
      stateLabel: stateLabel(view.state),
      countdown: view.text,
      caption,
      target: formatTarget(clock.targetSeconds),
      calendar: clock.calendar || "—",
      due: clock.due,
      dueLocal: formatLocal(clock.due, locale, timeZone),
      stopped: clock.stopped,
      stoppedLocal: formatLocal(clock.stopped, locale, timeZone),
    };
  });
  return {
    issueKey: data.issueKey ?? "",
    missing: false,
    tier: panel.tierLabel,
    severity: humanize(panel.severity),
    severityClass: panel.severity ? severityClass(panel.severity) : "",
    clocks,
  };
}

// ------------------------------------------------------------------------------------- the page

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
};

const setText = (node, text) => {
  if (node.textContent !== text) node.textContent = text;
};

function fact(label, valueNode) {
  return el("div", { class: "fact" }, el("dt", {}, label), el("dd", {}, valueNode));
}

/** One clock's list item; its live parts are updated in place by `updateClock`. */
function clockItem(clock, index) {
  const titleId = `clock-${index}-title`;
  const value = el("span", { class: "countdown-value" });
  const caption = el("span", { class: "countdown-caption" });
  // Only the most urgent clock is a live region, so a screen reader hears one countdown.
  const countdownAttrs = index === 0 ? { role: "timer", "aria-live": "polite", "aria-atomic": "true" } : { role: "timer" };
  const due = el("time");
  const dueFact = fact("Due", due);
  const stopped = el("time");
  const stoppedFact = fact("Stopped", stopped);
  const pill = el("span", { class: "pill" });
  const item = el(
    "li",
    { class: "clock", "aria-labelledby": titleId },
    el("div", { class: "clock-head" }, el("h3", { id: titleId, class: "clock-title" }, clock.title), pill),
    el("p", { class: "countdown", ...countdownAttrs }, value, " ", caption),
    el("dl", { class: "facts" }, fact("Target", clock.target), fact("Calendar", clock.calendar), dueFact, stoppedFact),
  );
  return { item, pill, value, caption, due, dueFact, stopped, stoppedFact };
}

function updateClock(refs, clock) {
  const cls = `clock state-${clock.state}`;
  if (refs.item.className !== cls) refs.item.className = cls;
  setText(refs.pill, clock.stateLabel);
  setText(refs.value, clock.countdown);
  setText(refs.caption, clock.caption);
  refs.dueFact.hidden = !clock.dueLocal;
  refs.due.setAttribute("datetime", clock.due);
  setText(refs.due, clock.dueLocal);
  refs.stoppedFact.hidden = !clock.stoppedLocal;
  refs.stopped.setAttribute("datetime", clock.stopped);
  setText(refs.stopped, clock.stoppedLocal);
}

/** Renders the panel into `root` and keeps it current; returns a function that stops it. */
export function mount(root, { load = loadPanelData, now = () => Date.now(), tickMs = 1000 } = {}) {
  let data = null;
  let shape = "";
  let rows = [];
  const header = el("header", { class: "badges", "aria-label": "Issue tier and severity" });
  const list = el("ul", { class: "clocks", "aria-label": "SLA clocks" });
  const message = el("p", { class: "message" });
  root.replaceChildren(header, message, list);
  root.removeAttribute("aria-busy");

  const render = () => {
    if (data === null) return;
    const m = panelModel(data, now());
    const badges = `${m.tier}|${m.severity}|${m.severityClass}`;
    if (badges !== header.dataset.badges) {
      header.dataset.badges = badges;
      header.replaceChildren(
        el("span", { class: `badge badge-tier${m.tier ? "" : " is-empty"}` }, el("span", { class: "visually-hidden" }, "Tier: "), m.tier || "No tier"),
        el("span", { class: `badge ${m.severityClass || "is-empty"}` }, el("span", { class: "visually-hidden" }, "Severity: "), m.severity || "No severity"),
      );
    }
    header.hidden = m.missing;
    let text = "";
    if (m.missing) text = "tierdesk has not evaluated this issue yet.";
    else if (m.clocks.length === 0) text = "No SLA clock is running on this issue.";
    setText(message, text);
    message.hidden = text === "";
    list.hidden = m.clocks.length === 0;
    const nextShape = m.clocks.map((c) => `${c.key}|${c.title}|${c.target}|${c.calendar}`).join(",");
    if (nextShape !== shape) {
      shape = nextShape;
      rows = m.clocks.map(clockItem);
      list.replaceChildren(...rows.map((r) => r.item));
    }
    m.clocks.forEach((clock, i) => updateClock(rows[i], clock));
  };

  const refresh = async () => {
    try {
      data = await load();
    } catch (error) {
      if (data === null) {
        setText(message, `Could not read the SLA data: ${error?.message ?? error}`);
        message.hidden = false;
        message.setAttribute("role", "alert");
      }
      return;
    }
    message.removeAttribute("role");
    render();
  };

  const ticker = setInterval(render, tickMs);
  const poller = setInterval(refresh, REFRESH_MS);
  refresh();
  return () => {
    clearInterval(ticker);
    clearInterval(poller);
  };
}

if (typeof document !== "undefined") {
  const root = document.getElementById("panel");
  if (root) mount(root);
}
