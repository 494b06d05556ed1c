// Labels for assignments and times, shared by the staff pages and the student
// dashboard. Pure functions: the clock is passed in.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const two = (n) => String(n).padStart(2, "0");

function clock(date) {
  return `${two(date.getHours())}:${two(date.getMinutes())}`;
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "today 17:00", "tomorrow 09:00", "Friday 17:00" (within a week) or "12 Dec 17:00". */
export function dayAndTime(ms, now) {
  const date = new Date(ms);
  const days = Math.round((startOfDay(ms) - startOfDay(now)) / DAY);
  if (days === 0) return `today ${clock(date)}`;
  if (days === 1) return `tomorrow ${clock(date)}`;
  if (days > 1 && days < 7) return `${date.toLocaleDateString("en-GB", { weekday: "long" })} ${clock(date)}`;
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  const day = date.toLocaleDateString("en-GB", sameYear ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
  return `${day} ${clock(date)}`;
}

/** "in 35 min", "in 2 h", or the day and time when it is a day or more away. */
export function relative(ms, now) {
  const ahead = ms - now;
  if (ahead <= 0) return "now";
  if (ahead < HOUR) return `in ${Math.max(1, Math.round(ahead / MINUTE))} min`;
  if (ahead < DAY) return `in ${Math.round(ahead / HOUR)} h`;
  return dayAndTime(ms, now);
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** What a student (or a teacher) reads about an assignment's window. */
export function windowLabel(assignment, now) {
  if (assignment.state === "upcoming") {
    return `Opens ${relative(assignment.opens_at, now)}`;
  }
  if (assignment.state === "closed") return "Closed";
  if (assignment.closes_at == null) return "Open, no due date";
  return `Due ${dayAndTime(assignment.closes_at, now)}`;
}

/** "1 of 2 attempts used", or "1 attempt used (no limit)". */
export function attemptsLabel(used, max) {
  if (max == null) return `${used} ${used === 1 ? "attempt" : "attempts"} used (no limit)`;
  return `${used} of ${max} ${max === 1 ? "attempt" : "attempts"} used`;
}

/** The window of an assignment in one line, for staff: "3 Dec 09:00 – 5 Dec 17:00". */
export function windowRange(assignment, now) {
  const opens = capital(dayAndTime(assignment.opens_at, now));
  return assignment.closes_at == null ? `${opens} – no close` : `${opens} – ${dayAndTime(assignment.closes_at, now)}`;
}

/** ms since the epoch → the value of an <input type="datetime-local"> in local time. */
export function toLocalInput(ms) {
  if (ms == null) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The value of an <input type="datetime-local"> (local time) → ms since the epoch, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return new Date(y, mo - 1, d, h, mi, s || 0).getTime();
}

/** A remaining time as "12:05" or "1:02:03"; null reads as untimed. */
export function remainingLabel(ms) {
  if (ms == null) return "untimed";
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** "just now", "3 min ago", "2 h ago", or the day and time. */
export function ago(ms, now) {
  if (ms == null) return "—";
  const behind = now - ms;
  if (behind < MINUTE) return "just now";
  if (behind < HOUR) return `${Math.round(behind / MINUTE)} min ago`;
  if (behind < DAY) return `${Math.round(behind / HOUR)} h ago`;
  return dayAndTime(ms, now);
}

export const pct = (fraction) => (fraction == null ? "—" : `${Math.round(fraction * 100)}%`);

/** A percent as the API gives it: 0..100 in results; shown whole. */
export const percentLabel = (value) => (value == null ? "—" : `${Math.round(value)}%`);

export const num = (n, digits = 1) => (n == null ? "—" : Number.isInteger(n) ? String(n) : n.toFixed(digits));

export const START_ERRORS = {
  assignment_not_open: "This assignment is not open yet. Come back when it opens.",
  assignment_closed: "This assignment has closed: no new attempt can be started.",
  attempts_exhausted: "You have used all your attempts at this assignment.",
};
