// The dashboard's labels (static/js/views/dashboard.js).

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const dashboard = await load("views/dashboard.js");

test("a time limit under a minute reads in seconds, not as 0 min", () => {
  assert.equal(dashboard.durationLabel(20), "20 s");
  assert.equal(dashboard.durationLabel(45), "45 s");
  assert.equal(dashboard.durationLabel(59.4), "59 s");
});

test("a time limit of a minute or more reads in whole minutes", () => {
  assert.equal(dashboard.durationLabel(60), "1 min");
  assert.equal(dashboard.durationLabel(300), "5 min");
  assert.equal(dashboard.durationLabel(300 * 1.5), "8 min");
});

test("a short test's summary and a short time option show their seconds", () => {
  const test = { sections: [{ question_count: 2, time_limit_seconds: 30 }], allow_untimed: false };
  assert.equal(dashboard.testMeta(test), "2 questions · 30 s");
});
