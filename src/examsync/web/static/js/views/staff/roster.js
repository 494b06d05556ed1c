// The proctor roster's model: what each row says, how rows sort and filter.
// Pure functions (the clock is passed in), shared by the page and its tests.

import { remainingLabel } from "./format.js";

export const TIME_LOW_MS = 5 * 60_000;
export const FLAGGED_MANY = 3;

export const STATUS_TEXT = { not_started: "Not started", active: "Working", paused: "Paused", completed: "Submitted" };

/** The time left now, counting down from when the row arrived while the session runs. */
export function remainingNow(row, now) {
  if (row.time_remaining_ms == null) return null;
  if (row.status !== "active" || row.received_at == null) return row.time_remaining_ms;
  return Math.max(0, row.time_remaining_ms - (now - row.received_at));
}

/** Whether the student is away: a session underway with no device connected. */
export function isOffline(row) {
  return (row.status === "active" || row.status === "paused") && !row.connected;
}

/** "online", "online, 2 devices", "offline", "offline, 3 queued", or "—" before a session exists. */
export function connectionLabel(row) {
  if (isOffline(row)) return row.offline_queue ? `offline, ${row.offline_queue} queued` : "offline";
  if (!row.connected) return "—";
  return row.devices > 1 ? `online, ${row.devices} devices` : "online";
}

export function timeLabel(row, now) {
  if (row.status === "not_started" || row.status === "completed") return "—";
  const left = remainingNow(row, now);
  return left == null ? "untimed" : remainingLabel(left);
}

export const FILTERS = {
  offline: { label: "Offline", test: (row) => isOffline(row) },
  flagged: { label: `Flagged ${FLAGGED_MANY} or more`, test: (row) => (row.flagged || 0) >= FLAGGED_MANY },
  time_low: { label: "Under 5 minutes left", test: (row, now) => row.status === "active" && remainingNow(row, now) != null && remainingNow(row, now) < TIME_LOW_MS },
  not_started: { label: "Not started", test: (row) => row.status === "not_started" },
};

/** Rows matching every filter that is on (no filter on: every row). */
export function filterRows(rows, on, now) {
  const active = Object.keys(FILTERS).filter((key) => on[key]);
  return rows.filter((row) => active.every((key) => FILTERS[key].test(row, now)));
}

const STATUS_ORDER = { active: 0, paused: 1, not_started: 2, completed: 3 };

export const COLUMNS = [
  { key: "name", label: "Student", value: (r) => (r.display_name || r.email || "").toLowerCase() },
  { key: "status", label: "Status", value: (r) => STATUS_ORDER[r.status] ?? 9 },
  { key: "connection", label: "Connection", value: (r) => (isOffline(r) ? 0 : r.connected ? 2 : 1) * 1e6 - (r.offline_queue || 0) },
  { key: "progress", label: "Answered", value: (r) => (r.total ? r.answered / r.total : 0) },
  { key: "flagged", label: "Flagged", value: (r) => r.flagged || 0 },
  { key: "section", label: "Section", value: (r) => (r.section || "").toLowerCase() },
  { key: "time", label: "Time left", value: (r, now) => { const t = remainingNow(r, now); return t == null ? Infinity : t; } },
  { key: "last", label: "Last activity", value: (r) => r.last_op_at || 0 },
  { key: "issues", label: "Late or refused", value: (r) => r.late_or_rejected_ops || 0 },
];

/** Rows sorted by a column, ties by name, so the order is stable as rows change. */
export function sortRows(rows, key, direction, now) {
  const column = COLUMNS.find((c) => c.key === key) || COLUMNS[0];
  const sign = direction === "descending" ? -1 : 1;
  const name = COLUMNS[0].value;
  return [...rows].sort((a, b) => {
    const va = column.value(a, now);
    const vb = column.value(b, now);
    if (va < vb) return -sign;
    if (va > vb) return sign;
    const na = name(a);
    const nb = name(b);
    return na < nb ? -1 : na > nb ? 1 : a.user_id < b.user_id ? -1 : 1;
  });
}

/** Counts for the summary line. */
export function summarize(rows) {
  const counts = { working: 0, paused: 0, offline: 0, not_started: 0, submitted: 0 };
  for (const row of rows) {
    if (row.status === "active") counts.working += 1;
    if (row.status === "paused") counts.paused += 1;
    if (row.status === "not_started") counts.not_started += 1;
    if (row.status === "completed") counts.submitted += 1;
    if (isOffline(row)) counts.offline += 1;
  }
  return counts;
}

/**
 * Apply a socket message to the rows (a Map by user_id): a whole `roster`, or one `roster_row`.
 * Returns the seq to resume after, unchanged for a message older than what we have.
 */
export function applyMessage(rows, message, seq, now) {
  if (message.type === "roster") {
    rows.clear();
    for (const row of message.rows) rows.set(row.user_id, { ...row, received_at: now });
    return message.seq ?? seq;
  }
  if (message.type === "roster_row") {
    if (message.seq != null && seq != null && message.seq <= seq) return seq;
    rows.set(message.row.user_id, { ...message.row, received_at: now });
    return message.seq ?? seq;
  }
  return seq;
}
