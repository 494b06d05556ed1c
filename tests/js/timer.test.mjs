// The section countdown (static/js/timer.js): the server decides; the page counts down from its last word.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const timer = await load("timer.js");

function countdown(start = 0) {
  const clock = { now: start };
  const c = new timer.Countdown({ now: () => clock.now, every: () => 1, stopEvery: () => {} });
  const seen = { ticks: [], warnings: [], expired: 0 };
  c.addEventListener("tick", (e) => seen.ticks.push(e.detail.remainingMs));
  c.addEventListener("warning", (e) => seen.warnings.push(e.detail.thresholdMs));
  c.addEventListener("expired", () => (seen.expired += 1));
  return { c, clock, seen };
}

test("counts down from the server's remaining time, on the local monotonic clock", () => {
  const { c, clock } = countdown(1_000);
  c.sync({ remainingMs: 90_000, running: true, receivedAt: 1_000 });
  clock.now = 31_000;
  assert.equal(c.remaining(), 60_000);
  clock.now = 200_000;
  assert.equal(c.remaining(), 0, "never below zero");
});

test("the anchor is the middle of the request: the server measured between sending and receiving", () => {
  assert.equal(timer.anchorTime(100, 300), 200);
  const { c, clock } = countdown(300);
  c.sync({ remainingMs: 10_000, running: true, sentAt: 100, receivedAt: 300 });
  assert.equal(c.remaining(), 9_900);
  clock.now = 5_200;
  assert.equal(c.remaining(), 5_000);
});

test("a clock standing still (section not begun) does not count down; untimed has no remaining time", () => {
  const { c, clock } = countdown();
  c.sync({ remainingMs: 60_000, running: false, receivedAt: 0 });
  clock.now = 30_000;
  assert.equal(c.remaining(), 60_000);
  c.sync({ remainingMs: null, running: true, receivedAt: 30_000 });
  assert.equal(c.remaining(), null);
  assert.ok(c.untimed);
});

test("a new word from the server re-anchors the count", () => {
  const { c, clock } = countdown();
  c.sync({ remainingMs: 100_000, running: true, receivedAt: 0 });
  clock.now = 10_000;
  c.sync({ remainingMs: 95_000, running: true, receivedAt: 10_000 }); // time added, or our clock ran fast
  clock.now = 15_000;
  assert.equal(c.remaining(), 90_000);
});

test("the server's message ages on the server's clock: offset from one request, then applied", () => {
  // Sent at 1000, received at 1200 (our wall clock); the server read 51_100 in between: 50 s ahead.
  const offset = timer.clockOffset(51_100, 1_000, 1_200);
  assert.equal(offset, 50_000);
  // A state message said 60 s left at server time 52_000; it is now 2_500 on our clock = 52_500 there.
  assert.equal(timer.remainingFromServer({ remainingMs: 60_000, serverTime: 52_000 }, { offsetMs: offset, wallNow: 2_500 }), 59_500);
  assert.equal(timer.remainingFromServer({ remainingMs: 60_000, serverTime: 52_000, running: false }, { offsetMs: offset, wallNow: 9_999 }), 60_000);
  assert.equal(timer.remainingFromServer({ remainingMs: 60_000, serverTime: 52_000 }, { offsetMs: null, wallNow: 9_999 }), 60_000);
  assert.equal(timer.remainingFromServer({ remainingMs: 1_000, serverTime: 52_000 }, { offsetMs: offset, wallNow: 9_000 }), 0);
  assert.equal(timer.remainingFromServer({ remainingMs: null, serverTime: 1 }, { offsetMs: 0, wallNow: 2 }), null);
});

test("warnings at 10, 5 and 1 minute, once each; zero says expired once", () => {
  const { c, clock, seen } = countdown();
  c.sync({ remainingMs: 11 * 60_000, running: true, receivedAt: 0 });
  for (const at of [60_001, 6 * 60_000 + 1, 6 * 60_000 + 2, 10 * 60_000 + 1, 11 * 60_000, 11 * 60_000 + 5]) {
    clock.now = at;
    c.tick();
  }
  assert.deepEqual(seen.warnings, [600_000, 300_000, 60_000]);
  assert.equal(seen.expired, 1);
});

test("opening with little time left says only the nearest warning", () => {
  const { c, seen } = countdown();
  c.sync({ remainingMs: 4 * 60_000, running: true, receivedAt: 0 });
  assert.deepEqual(seen.warnings, [300_000]);
});

test("a section's announced warnings are not repeated after a reset with them", () => {
  const { c, seen } = countdown();
  c.reset([600_000, 300_000]);
  c.sync({ remainingMs: 4 * 60_000, running: true, receivedAt: 0 });
  assert.deepEqual(seen.warnings, []);
});

test("clock and spoken formats", () => {
  assert.equal(timer.formatClock(61_001), "01:02");
  assert.equal(timer.formatClock(3_600_000), "1:00:00");
  assert.equal(timer.formatClock(0), "00:00");
  assert.equal(timer.formatSpoken(125_000), "2 minutes 5 seconds");
  assert.equal(timer.formatSpoken(3_600_000), "1 hour");
  assert.equal(timer.formatSpoken(null), "untimed");
});
