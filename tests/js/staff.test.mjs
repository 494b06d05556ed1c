// The staff pages' models and the assignment labels (static/js/views/staff/*.js).

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const format = await load("views/staff/format.js");
const roster = await load("views/staff/roster.js");
const timeline = await load("views/staff/timeline.js");
const charts = await load("views/staff/charts.js");

const at = (y, mo, d, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const WED = at(2026, 12, 2, 10, 0); // a Wednesday

test("an open assignment reads as due on a weekday within the week, else on a date", () => {
  assert.equal(format.windowLabel({ state: "open", closes_at: at(2026, 12, 4, 17, 0) }, WED), "Due Friday 17:00");
  assert.equal(format.windowLabel({ state: "open", closes_at: at(2026, 12, 2, 17, 30) }, WED), "Due today 17:30");
  assert.equal(format.windowLabel({ state: "open", closes_at: at(2026, 12, 3, 9, 0) }, WED), "Due tomorrow 09:00");
  assert.equal(format.windowLabel({ state: "open", closes_at: at(2026, 12, 20, 9, 0) }, WED), "Due 20 Dec 09:00");
  assert.equal(format.windowLabel({ state: "open", closes_at: null }, WED), "Open, no due date");
});

test("an upcoming assignment says how soon it opens; a closed one says so", () => {
  assert.equal(format.windowLabel({ state: "upcoming", opens_at: WED + 2 * 3600_000 }, WED), "Opens in 2 h");
  assert.equal(format.windowLabel({ state: "upcoming", opens_at: WED + 35 * 60_000 }, WED), "Opens in 35 min");
  assert.equal(format.windowLabel({ state: "upcoming", opens_at: at(2026, 12, 4, 9, 0) }, WED), "Opens Friday 09:00");
  assert.equal(format.windowLabel({ state: "closed", closes_at: WED - 1 }, WED), "Closed");
});

test("attempts read as used of allowed, or with no limit", () => {
  assert.equal(format.attemptsLabel(1, 2), "1 of 2 attempts used");
  assert.equal(format.attemptsLabel(0, 1), "0 of 1 attempt used");
  assert.equal(format.attemptsLabel(3, null), "3 attempts used (no limit)");
});

test("a local date-time input round-trips to milliseconds in local time", () => {
  const ms = at(2026, 3, 29, 1, 30);
  assert.equal(format.toLocalInput(ms), "2026-03-29T01:30");
  assert.equal(format.fromLocalInput("2026-03-29T01:30"), ms);
  assert.equal(format.fromLocalInput(""), null);
  assert.equal(format.fromLocalInput("nonsense"), null);
});

const row = (over) => ({ user_id: "u", display_name: "Ann", status: "active", connected: true, devices: 1, answered: 0, total: 10,
  flagged: 0, time_remaining_ms: 600_000, offline_queue: null, late_or_rejected_ops: 0, received_at: 0, ...over });

test("an offline row with work queued says how much", () => {
  assert.equal(roster.connectionLabel(row({ connected: false, offline_queue: 3 })), "offline, 3 queued");
  assert.equal(roster.connectionLabel(row({ connected: false, offline_queue: null })), "offline");
  assert.equal(roster.connectionLabel(row({ devices: 2 })), "online, 2 devices");
  assert.equal(roster.connectionLabel(row({ status: "not_started", connected: false })), "—");
  assert.equal(roster.connectionLabel(row({ status: "completed", connected: false })), "—");
});

test("time left counts down while the session runs and stands still while paused", () => {
  assert.equal(roster.remainingNow(row({ received_at: 1000 }), 61_000), 540_000);
  assert.equal(roster.remainingNow(row({ status: "paused", received_at: 1000 }), 61_000), 600_000);
  assert.equal(roster.remainingNow(row({ received_at: 0 }), 10_000_000), 0);
  assert.equal(roster.timeLabel(row({ time_remaining_ms: null }), 0), "untimed");
});

test("filters combine, and each picks the rows it names", () => {
  const rows = [
    row({ user_id: "a", connected: false }),
    row({ user_id: "b", flagged: 4 }),
    row({ user_id: "c", time_remaining_ms: 60_000 }),
    row({ user_id: "d", status: "not_started", connected: false, time_remaining_ms: null }),
    row({ user_id: "e", connected: false, flagged: 3 }),
  ];
  const ids = (on) => roster.filterRows(rows, on, 0).map((r) => r.user_id);
  assert.deepEqual(ids({}), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(ids({ offline: true }), ["a", "e"]);
  assert.deepEqual(ids({ flagged: true }), ["b", "e"]);
  assert.deepEqual(ids({ time_low: true }), ["c"]);
  assert.deepEqual(ids({ not_started: true }), ["d"]);
  assert.deepEqual(ids({ offline: true, flagged: true }), ["e"]);
});

test("sorting is by the column, both ways, ties by name", () => {
  const rows = [row({ user_id: "1", display_name: "Cy", answered: 5 }), row({ user_id: "2", display_name: "Ann", answered: 5 }),
    row({ user_id: "3", display_name: "Bo", answered: 9 })];
  assert.deepEqual(roster.sortRows(rows, "name", "ascending", 0).map((r) => r.display_name), ["Ann", "Bo", "Cy"]);
  assert.deepEqual(roster.sortRows(rows, "progress", "descending", 0).map((r) => r.display_name), ["Bo", "Ann", "Cy"]);
  assert.deepEqual(roster.sortRows(rows, "progress", "ascending", 0).map((r) => r.display_name), ["Ann", "Cy", "Bo"]);
});

test("socket messages replace the roster, then update rows in seq order, ignoring stale ones", () => {
  const rows = new Map();
  let seq = roster.applyMessage(rows, { type: "roster", seq: 5, rows: [row({ user_id: "a" }), row({ user_id: "b" })] }, null, 0);
  assert.equal(seq, 5);
  seq = roster.applyMessage(rows, { type: "roster_row", seq: 6, row: row({ user_id: "a", answered: 1 }) }, seq, 0);
  seq = roster.applyMessage(rows, { type: "roster_row", seq: 4, row: row({ user_id: "a", answered: 0 }) }, seq, 0);
  assert.equal(seq, 6);
  assert.equal(rows.get("a").answered, 1);
  assert.equal(rows.size, 2);
});

const entry = (seq, kind, over = {}) => ({ seq, kind, status: "applied", server_time: seq * 1000, payload: {}, ...over });

test("the replay shows which answer was selected at each step, and marks replaced answers", () => {
  const entries = [
    entry(1, "section_started", { section_id: "s1" }),
    entry(2, "answer", { question_id: "q1", payload: { answer: "a" } }),
    entry(3, "flag", { question_id: "q1" }),
    entry(4, "answer", { question_id: "q1", payload: { answer: "c" } }),
    entry(5, "answer", { question_id: "q2", status: "rejected", code: "session_paused", payload: { answer: "b" } }),
    entry(6, "staff_pause", { payload: { type: "pause", by: "t1" } }),
    entry(7, "answer", { question_id: "q1", payload: { answer: null } }),
  ];
  assert.deepEqual([...timeline.replacedAnswers(entries)], [[2, 4], [4, 7]]);
  assert.equal(timeline.stateAt(entries, 1).answers.get("q1"), "a");
  assert.equal(timeline.stateAt(entries, 3).answers.get("q1"), "c");
  assert.ok(timeline.stateAt(entries, 3).flags.has("q1"));
  assert.equal(timeline.stateAt(entries, 4).answers.has("q2"), false); // refused: never on screen
  assert.equal(timeline.stateAt(entries, 5).paused, true);
  assert.equal(timeline.stateAt(entries, 6).answers.has("q1"), false); // cleared
});

test("a staff op reads with who did it; an op made offline says how late it arrived", () => {
  const e = entry(3, "staff_extend_time", { payload: { type: "extend_time", extra_seconds: 300, scope: "session", by: "t1" } });
  assert.equal(timeline.describe(e, { names: { t1: "Ms Lee" } }), "Time extended by staff · +5 min to the session · by Ms Lee");
  assert.equal(timeline.lateBy({ server_time: 200_000, client_time: 50_000 }), 150_000);
  assert.equal(timeline.lateBy({ server_time: 200_000, client_time: 190_000 }), 0);
});

test("the histogram puts percents in ten bins, 100 in the last", () => {
  const bins = charts.histogramBins([0, 9.9, 10, 55, 100, 90, null]);
  assert.deepEqual(bins.map((b) => b.count), [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
  assert.equal(charts.choiceLetter("b", 1), "B");
  assert.equal(charts.choiceLetter("x-long", 2), "C");
});

const overrides = await load("views/staff/overrides.js");
const report = await load("views/staff/report.js");

test("an override says what it changes for the student", () => {
  assert.equal(overrides.overrideSummary({ max_attempts: 3, extra_seconds: 600 }, WED), "3 attempts · +10 min");
  assert.equal(overrides.overrideSummary({ closes_at: null, time_multiplier: 1.5 }, WED), "no close · 1.5× time");
  assert.equal(overrides.overrideSummary({}, WED), "none");
});

test("sub-skill averages are over the students who have the sub-skill, weakest first", () => {
  const rows = report.subSkillAverages([
    { by_sub_skill: { a: { name: "Algebra", percent: 100 }, g: { name: "Geometry", percent: 50 } } },
    { by_sub_skill: { a: { name: "Algebra", percent: 50 } } },
    { by_sub_skill: {} },
  ]);
  assert.deepEqual(rows.map((r) => [r.label, r.value]), [["Geometry", 0.5], ["Algebra", 0.75]]);
  assert.equal(rows[1].detail, "average of 2 students");
});
