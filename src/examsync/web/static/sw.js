// The service worker: keeps the app shell (the page, its styles and scripts)
// so that the test page loads, and renders from what IndexedDB holds, even
// when the server cannot be reached; and so does the staff's test editor,
// which keeps its draft on the device until the server takes it. It never touches /api/: answers and
// state always come from the server or from the page's own queue.
//
// The server replaces VERSION with a digest of the shell's files when it serves
// this file, so any change to the shell makes a new worker: it caches the new
// set whole, and removes the old cache once it takes over.

const VERSION = "examsync-shell-v1";
const SHELL = [
  "/",
  "/static/css/app.css",
  "/static/css/staff.css",
  "/static/css/editor.css",
  "/static/js/app.js",
  "/static/js/api.js",
  "/static/js/db.js",
  "/static/js/queue.js",
  "/static/js/state.js",
  "/static/js/timer.js",
  "/static/js/download.js",
  "/static/js/dom.js",
  "/static/js/icons.js",
  "/static/js/chart.js",
  "/static/js/prefs.js",
  "/static/js/status.js",
  "/static/js/live.js",
  "/static/js/session.js",
  "/static/js/views/login.js",
  "/static/js/views/dashboard.js",
  "/static/js/views/test.js",
  "/static/js/views/test/controller.js",
  "/static/js/views/test/question.js",
  "/static/js/views/test/palette.js",
  "/static/js/views/test/screens.js",
  "/static/js/views/test/submit-dialog.js",
  "/static/js/views/test/timer-box.js",
  "/static/js/views/test/keyboard.js",
  "/static/js/views/test/actions.js",
  "/static/js/views/test/flow.js",
  "/static/js/views/test/live-link.js",
  "/static/js/views/results.js",
  "/static/js/views/lti.js",
  // The staff pages' router and the test editor with what it imports (tests/test_web_shell.py keeps this whole).
  "/static/js/views/staff/index.js",
  "/static/js/views/staff/layout.js",
  "/static/js/views/staff/api.js",
  "/static/js/views/staff/format.js",
  "/static/js/views/staff/editor.js",
  "/static/js/views/staff/editor-frame.js",
  "/static/js/views/staff/editor-preview.js",
  "/static/js/views/staff/question-form.js",
  "/static/js/views/staff/markup.js",
  "/static/js/views/staff/draft-saver.js",
  "/static/js/views/staff/content-api.js",
];
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("examsync-shell-") && n !== VERSION).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // never cached: always the network
  const path = request.mode === "navigate" && url.pathname === "/" ? "/" : url.pathname;
  if (!SHELL_PATHS.has(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(VERSION);
    const hit = await cache.match(path);
    if (hit) return hit;
    const response = await fetch(request);
    if (response.ok) cache.put(path, response.clone());
    return response;
  })());
});
