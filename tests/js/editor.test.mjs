// The test editor's pure parts: the stem markup (static/js/views/staff/markup.js) and the draft saver
// (draft-saver.js): kept on the device first, sent with its version, retried when the server cannot be reached,
// and never merged over a newer version.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const stored = new Map();
const storage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};
globalThis.window = globalThis.window || new EventTarget();
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

function networkError() {
  return Object.assign(new Error("the server cannot be reached"), { status: 0, network: true, code: "network_error" });
}

test("markup becomes only the allowed HTML, with what was typed escaped", async () => {
  const { markupToHtml, inlineToHtml } = await load("views/staff/markup.js");
  assert.equal(markupToHtml("What is **2 < 3**?\n\n- *one*\n- two\n\n1. first\n2. second"),
    "<p>What is <strong>2 &lt; 3</strong>?</p><ul><li><em>one</em></li><li>two</li></ul><ol><li>first</li><li>second</li></ol>");
  assert.equal(markupToHtml('<script>alert("x")</script>'), "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>");
  assert.equal(markupToHtml("line one\nline two"), "<p>line one<br>line two</p>");
  assert.equal(inlineToHtml("**3/6** & more"), "<strong>3/6</strong> &amp; more");
});

test("a change is kept on the device at once and sent with its version when typing pauses", async () => {
  stored.clear();
  const { createDraftSaver, localCopy } = await load("views/staff/draft-saver.js");
  const sent = [];
  const states = [];
  const saver = createDraftSaver({ draftId: "d1", version: 4, storage, delayMs: 0, isOnline: () => true,
    save: async (version, document) => { sent.push([version, document.n]); return { version: version + 1 }; },
    onState: ({ state }) => states.push(state) });
  saver.change({ n: 1 });
  saver.change({ n: 2 });
  assert.deepEqual(localCopy("d1", storage), { base: 4, document: { n: 2 }, dirty: true });
  await settle();
  assert.deepEqual(sent, [[4, 2]]);
  assert.equal(saver.state, "saved");
  assert.equal(saver.version, 5);
  assert.equal(localCopy("d1", storage).dirty, false);
  saver.stop();
});

test("offline: not saved, retrying, nothing lost; back online the newest document is sent once", async () => {
  stored.clear();
  const { createDraftSaver, localCopy } = await load("views/staff/draft-saver.js");
  let online = false;
  const sent = [];
  const saver = createDraftSaver({ draftId: "d2", version: 1, storage, delayMs: 0, isOnline: () => online,
    save: async (version, document) => {
      if (!online) throw networkError();
      sent.push([version, document.n]);
      return { version: version + 1 };
    },
    onState: () => {} });
  saver.change({ n: 1 });
  await settle();
  assert.equal(saver.state, "retrying");
  saver.change({ n: 2 });
  saver.change({ n: 3 });
  await settle();
  assert.equal(saver.state, "retrying");
  assert.deepEqual(localCopy("d2", storage), { base: 1, document: { n: 3 }, dirty: true });
  online = true;
  window.dispatchEvent(new Event("online"));
  await settle();
  assert.deepEqual(sent, [[1, 3]]);
  assert.equal(saver.state, "saved");
  saver.stop();
});

test("a draft saved elsewhere is a conflict: nothing is sent until the teacher overwrites it", async () => {
  stored.clear();
  const { createDraftSaver } = await load("views/staff/draft-saver.js");
  let current = 7;
  const sent = [];
  const saver = createDraftSaver({ draftId: "d3", version: 5, storage, delayMs: 0, isOnline: () => true,
    save: async (version, document) => {
      if (version !== current) {
        throw Object.assign(new Error("saved elsewhere"), { status: 409, code: "draft_conflict", data: { version: current } });
      }
      sent.push([version, document.n]);
      current += 1;
      return { version: current };
    },
    onState: () => {} });
  saver.change({ n: 1 });
  await settle();
  assert.equal(saver.state, "conflict");
  saver.change({ n: 2 });
  await settle();
  assert.deepEqual(sent, []);
  saver.overwrite();
  await settle();
  assert.deepEqual(sent, [[7, 2]]);
  assert.equal(saver.state, "saved");
  assert.equal(saver.version, 8);
  saver.stop();
});
