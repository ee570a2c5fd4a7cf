// tierdesk sidebar apps: countdown and formatting logic shared by the Zendesk ticket sidebar and the
// Jira issue panel. Pure functions, no DOM, no clock reads (`nowMs` is always passed in), so the
// same file runs in the helpdesk iframe and under `node --test`. Both apps ship an identical copy
// (each app is packaged on its own); a test keeps the copies from drifting apart.

/** Remaining time shown amber below this (milliseconds): 30 minutes. */
export const WARN_BEFORE_MS = 30 * 60 * 1000;

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const METRIC_LABELS = {
  first_response: "First response",
  next_response: "Next response",
  periodic_update: "Periodic update",
  resolution: "Resolution",
};

const STATE_LABELS = {
  running: "Running",
  warning: "Warning",
  breached: "Breached",
  paused: "Paused",
  met: "Met",
  none: "No SLA",
};

const KNOWN_SEVERITIES = new Set(["critical", "high", "normal", "low"]);

const pad2 = (n) => String(n).padStart(2, "0");

/** Milliseconds since the epoch of a full ISO 8601 instant, or null when empty or unreadable. */
export function parseInstant(iso) {
  if (typeof iso !== "string" || iso.trim() === "") return null;
  // A full timestamp with a zone is required: a bare date or a zone-less time would be read in the
  // browser's zone and silently shift the deadline.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(iso.trim())) return null;
  const ms = Date.parse(iso.trim());
  return Number.isNaN(ms) ? null : ms;
}

/** Milliseconds from `nowMs` until the instant `dueIso` (negative once it has passed); null without a due. */
export function remaining(dueIso, nowMs) {
  const due = parseInstant(dueIso);
  return due === null ? null : due - nowMs;
}

/**
 * A countdown as agents read it: `1d 04h`, `2h 05m`, `15m`, `45s`; overdue values carry a minus
 * (`-15m`). Whole seconds are counted away from zero (a due in 0.4 s shows `1s`, 0.4 s overdue shows
 * `-1s`), then the value is cut to its two largest units, so the text changes at most once a minute
 * until the last minute. Null (no due) gives an em dash.
 */
export function formatRemaining(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  const sign = ms < 0 ? "-" : "";
  const total = Math.ceil(Math.abs(ms) / 1000);
  const days = Math.floor(total / DAY);
  const hours = Math.floor((total % DAY) / HOUR);
  const minutes = Math.floor((total % HOUR) / MINUTE);
  const seconds = total % MINUTE;
  if (days > 0) return `${sign}${days}d ${pad2(hours)}h`;
  if (hours > 0) return `${sign}${hours}h ${pad2(minutes)}m`;
  if (minutes > 0) return `${sign}${minutes}m`;
  return `${sign}${seconds}s`;
}

/**
 * An SLA target in business time: `15m`, `1h 30m`, `26h`. Whole days are shown as days only when
 * the target is an exact number of 24-hour days (`1d`, `3d`): tierdesk allows `d` only on 24x7
 * calendars, where a day really is 24 hours.
 */
export function formatTarget(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return "—";
  const s = Math.round(seconds);
  if (s % DAY === 0) return `${s / DAY}d`;
  const hours = Math.floor(s / HOUR);
  const minutes = Math.floor((s % HOUR) / MINUTE);
  const rest = s % MINUTE;
  const parts = [];
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (rest || parts.length === 0) parts.push(`${rest}s`);
  return parts.join(" ");
}

/** The part after `<prefix><family>_` of the first tag of that family, skipping `exclude`d values. */
function tagValue(tags, stem, exclude = []) {
  for (const tag of tags ?? []) {
    if (typeof tag === "string" && tag.startsWith(stem)) {
      const value = tag.slice(stem.length);
      if (value && !exclude.includes(value)) return value;
    }
  }
  return null;
}

/** Severity from the `<prefix>sev_<severity>` tag, or null. */
export function severityOf(tags, prefix = "") {
  return tagValue(tags, `${prefix}sev_`);
}

/** Tier from the `<prefix>tier_<tier>` tag (never the `tier_unmatched` flag), or null. */
export function tierOf(tags, prefix = "") {
  return tagValue(tags, `${prefix}tier_`, ["unmatched"]);
}

/** True when tierdesk flagged the customer as matched by no rule (it then has the default tier). */
export function isUnmatched(tags, prefix = "") {
  return (tags ?? []).includes(`${prefix}tier_unmatched`);
}

/** SLA state from tags alone, for helpdesks where the `sla_state` field is not mapped. */
export function stateFromTags(tags, prefix = "") {
  const list = tags ?? [];
  if (list.includes(`${prefix}sla_breached`)) return "breached";
  if (list.includes(`${prefix}sla_warning`)) return "warning";
  return null;
}

/**
 * What the countdown shows now, from the state tierdesk last wrote and the time left: a clock still
 * written as running is shown breached once its due instant has passed (tierdesk's next sync will say
 * so too), and warning when under 30 minutes remain. Paused and met are shown as written.
 */
export function effectiveState(state, remainingMs) {
  const s = typeof state === "string" ? state.trim().toLowerCase() : "";
  if (s === "breached") return "breached";
  if (s === "paused") return "paused";
  if (s === "met") return "met";
  if (remainingMs === null || remainingMs === undefined) {
    return s === "warning" || s === "running" ? s : "none";
  }
  if (remainingMs < 0) return "breached";
  if (s === "warning" || remainingMs < WARN_BEFORE_MS) return "warning";
  return "running";
}

/** CSS class for a state: `state-running`, `state-warning` (amber), `state-breached` (red), ... */
export function stateClass(state, remainingMs) {
  return `state-${effectiveState(state, remainingMs)}`;
}

/** Agent-facing label of a state value. */
export function stateLabel(state) {
  return STATE_LABELS[state] ?? humanize(state);
}

/** CSS class of a severity badge; severities other than the four defaults share one neutral style. */
export function severityClass(severity) {
  return KNOWN_SEVERITIES.has(severity) ? `sev-${severity}` : "sev-other";
}

/** `first_response` -> `First response`; names tierdesk does not know are humanised the same way. */
export function metricLabel(metric) {
  return METRIC_LABELS[metric] ?? humanize(metric);
}

/** `enterprise_plus` -> `Enterprise plus`: tier and severity names as written in the mappings. */
export function humanize(name) {
  if (typeof name !== "string" || name === "") return "";
  const text = name.replace(/[_-]+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The due instant in the agent's own time, e.g. `Thu 26 Nov, 16:08 CET` (en-GB, Europe/Berlin).
 * An unknown locale or time zone falls back to the browser's; an unreadable instant gives "".
 */
export function formatLocal(iso, locale, timeZone) {
  const ms = parseInstant(iso);
  if (ms === null) return "";
  const options = {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  };
  const attempts = [
    [locale, { ...options, timeZone: timeZone || undefined }],
    [locale, options],
    [undefined, options],
  ];
  for (const [loc, opts] of attempts) {
    try {
      return new Intl.DateTimeFormat(loc || undefined, opts).format(new Date(ms));
    } catch {
      // RangeError for an unknown locale or zone: try the next, less specific, formatter
    }
  }
  return new Date(ms).toISOString();
}

/**
 * The `tierdesk` issue property as the Jira panel uses it: missing or malformed parts become
 * defaults instead of errors. Clocks still counting (or paused) come first, by due instant with
 * undated (paused) ones after them; clocks that stopped late follow.
 */
export function normalizePanel(value) {
  const v = value && typeof value === "object" ? value : {};
  const str = (x) => (typeof x === "string" ? x : "");
  const clocks = (Array.isArray(v.clocks) ? v.clocks : [])
    .filter((c) => c && typeof c === "object")
    .map((c) => ({
      metric: str(c.metric),
      cycle: Number.isInteger(c.cycle) ? c.cycle : 0,
      state: str(c.state),
      targetSeconds: Number.isFinite(c.target_seconds) ? c.target_seconds : null,
      due: str(c.due),
      stopped: str(c.stopped),
      calendar: str(c.calendar),
    }));
  const stopped = (c) => (c.stopped === "" ? 0 : 1);
  const due = (c) => parseInstant(c.due) ?? Number.POSITIVE_INFINITY;
  clocks.sort(
    (a, b) =>
      stopped(a) - stopped(b) ||
      due(a) - due(b) ||
      a.metric.localeCompare(b.metric) ||
      a.cycle - b.cycle,
  );
  return {
    tier: str(v.tier),
    tierLabel: str(v.tier_label) || humanize(str(v.tier)),
    severity: str(v.severity),
    clocks,
  };
}

/**
 * What one panel clock shows at `nowMs`: the countdown text, its state, and for a clock that stopped
 * after its due instant the (frozen) amount by which it was late.
 */
export function clockView(clock, nowMs) {
  const stoppedAt = parseInstant(clock.stopped);
  const dueAt = parseInstant(clock.due);
  if (stoppedAt !== null) {
    const late = dueAt === null ? null : dueAt - stoppedAt;
    const state = clock.state === "breached" || (late !== null && late < 0) ? "breached" : "met";
    return { state, text: late === null ? "—" : formatRemaining(late), live: false };
  }
  const left = dueAt === null ? null : dueAt - nowMs;
  const state = effectiveState(clock.state, left);
  const text = state === "paused" ? "Paused" : formatRemaining(left);
  return { state, text, live: left !== null && state !== "paused" };
}
