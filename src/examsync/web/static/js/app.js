// The app: opens storage, starts the op queue, keeps the status area current,
// and routes between views by the URL hash:
//   #/login  #/dashboard  #/dashboard/test/<test_id>  #/session/<id>  #/results/<id>
//   #/staff/... (teachers and admins: views/staff/index.js, loaded on demand)
//   #/lti/<code> (an LTI launch signing in: views/lti.js)

import { api, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { openStore } from "./db.js";
import { OpQueue } from "./queue.js";
import { createTransport } from "./live.js";
import { createStatus } from "./status.js";
import { cachedUser, setCachedUser, deviceId } from "./prefs.js";
import { refreshOfflineKey, downloadQueued, keepingRescueSecrets } from "./download.js";
import { focusElement } from "./dom.js";
import * as loginView from "./views/login.js";
import * as dashboardView from "./views/dashboard.js";
import * as testView from "./views/test.js";
import * as resultsView from "./views/results.js";
import { signInFromLaunch } from "./views/lti.js";

const main = document.getElementById("main");
const logoutButton = document.getElementById("logout-button");
const topbarTest = document.getElementById("topbar-test");

let current = null; // {name, unmount}
let store;
let sessionApi; // the API, keeping each session's rescue secret in the store
let queue;
let status;
let transport;
let loginMessage = "";
let routedHash = null;
const EXPIRED_LOGIN = "Your login has expired. Log in again: your work is kept on this device and will be sent.";
const VOLATILE_NOTICE = "This browser does not let examsync store your changes on the device. Stay online while you work.";

/** Ask a yes/no question in the shared <dialog>; resolves true when confirmed. */
export function confirmDialog({ title, text, ok = "OK", cancel = "Cancel" }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-dialog-title").textContent = title;
  document.getElementById("confirm-dialog-text").textContent = text;
  const okButton = document.getElementById("confirm-dialog-ok");
  const cancelButton = document.getElementById("confirm-dialog-cancel");
  okButton.textContent = ok;
  cancelButton.textContent = cancel;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const done = (value) => {
      okButton.removeEventListener("click", onOk);
      cancelButton.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(value);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    okButton.addEventListener("click", onOk);
    cancelButton.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    cancelButton.focus();
  });
}

function parseRoute(hash) {
  const parts = (hash || "").replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [name, id, extra, extraId] = parts;
  if (name === "login") return { name: "login" };
  if (name === "session" && id) return { name: "session", id };
  if (name === "results" && id) return { name: "results", id };
  if (name === "dashboard") return { name: "dashboard", focusTest: id === "test" ? extra : null, extraId };
  if (name === "staff") return { name: "staff", parts: parts.slice(1) };
  if (name === "lti" && id) return { name: "lti", id };
  return null;
}

export function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) {
    route();
    return;
  }
  if (replace) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
  route();
}

function user() {
  return cachedUser();
}

function isStaff(me) {
  return Boolean(me && (me.role === "teacher" || me.role === "admin"));
}

// Staff pages load on demand, so that a student's offline shell never waits for them.
const staffView = {
  mount(root, ctx, target) {
    let unmount = null;
    let disposed = false;
    import("./views/staff/index.js").then(
      (view) => {
        if (!disposed) unmount = view.mount(root, ctx, target);
      },
      (error) => {
        console.error(error);
        root.textContent = "The staff pages could not load. Check the connection and reload.";
        document.body.dataset.ready = "1";
      },
    );
    return () => {
      disposed = true;
      if (typeof unmount === "function") unmount();
    };
  },
};

async function refreshUser() {
  try {
    const me = await api.me();
    const previous = cachedUser();
    setCachedUser(me);
    if (!previous || previous.user_id !== me.user_id) queue.resume();
    return me;
  } catch (error) {
    return cachedUser();
  }
}

async function refreshKey() {
  if (!navigator.onLine) return;
  try {
    await refreshOfflineKey(api.offlineKey, store);
  } catch (error) {
    console.warn("examsync: could not fetch the offline key", error);
  }
}

function context() {
  return {
    api: sessionApi,
    store,
    queue,
    status,
    navigate,
    user,
    topbarTest,
    confirm: confirmDialog,
    announce(text) {
      const region = document.getElementById("announcer");
      region.textContent = "";
      setTimeout(() => (region.textContent = text), 50);
    },
    async loggedIn() {
      await refreshUser();
      loginMessage = "";
      queue.resume();
      refreshKey();
    },
    loginMessage: () => loginMessage,
    deviceId,
    transport,
    token: getToken,
    /** The server refused our login (the live socket said so): log in again. */
    unauthorized,
  };
}

async function route() {
  if (!location.hash.startsWith("#/") && location.hash !== "") return; // in-page anchors such as #main
  let target = parseRoute(location.hash);
  if (target && target.name === "lti") {
    routedHash = location.hash;
    const landing = await signInFromLaunch(main, target.id, { api, store, setToken, setCachedUser });
    if (landing) {
      queue.resume();
      history.replaceState(null, "", landing);
      route();
    }
    return;
  }
  const token = getToken();
  if (!token && (!target || target.name !== "login")) {
    history.replaceState(null, "", "#/login");
    target = { name: "login" };
  } else if (!target || (token && target.name === "login")) {
    history.replaceState(null, "", "#/dashboard");
    target = { name: "dashboard" };
  }
  // Staff land on their home; a student has no staff pages.
  if (token && target.name === "dashboard" && isStaff(cachedUser())) {
    history.replaceState(null, "", "#/staff");
    target = { name: "staff", parts: [] };
  } else if (target.name === "staff" && !isStaff(cachedUser())) {
    history.replaceState(null, "", "#/dashboard");
    target = { name: "dashboard" };
  }
  routedHash = location.hash;
  if (current) {
    try {
      current.unmount();
    } catch (error) {
      console.error(error);
    }
  }
  current = null;
  document.body.dataset.ready = "0";
  document.body.dataset.view = target.name;
  topbarTest.replaceChildren();
  status.notice(store.volatile ? VOLATILE_NOTICE : "", { timeoutMs: 0 });
  main.replaceChildren();
  logoutButton.hidden = target.name === "login";
  status.setEnabled(target.name !== "login");
  const views = { login: loginView, dashboard: dashboardView, session: testView, results: resultsView, staff: staffView };
  const unmount = views[target.name].mount(main, context(), target);
  current = { name: target.name, unmount: typeof unmount === "function" ? unmount : () => {} };
}

function unauthorized() {
  if (!getToken()) return;
  setToken(null);
  loginMessage = EXPIRED_LOGIN;
  if (!location.hash.startsWith("#/login")) navigate("#/login");
}

async function logout() {
  const waiting = queue.count;
  if (waiting > 0) {
    const ok = await confirmDialog({
      title: "Log out with unsent changes?",
      text: `${waiting} ${waiting === 1 ? "change has" : "changes have"} not reached the server yet. They stay on this device and are sent when you log in again here.`,
      ok: "Log out",
      cancel: "Stay logged in",
    });
    if (!ok) return;
  }
  setToken(null);
  navigate("#/login");
}

async function rescue() {
  const me = cachedUser();
  try {
    const match = location.hash.match(/^#\/session\/([^/]+)/);
    const sessionIds = match && queue.queued(decodeURIComponent(match[1])).length ? [decodeURIComponent(match[1])] : null;
    const names = await downloadQueued({
      queue,
      store,
      userId: me ? me.user_id : null,
      deviceId: deviceId(),
      sessionIds,
    });
    status.notice(
      names.length
        ? `Saved ${names.join(", ")}. Give this file to your teacher if your answers do not reach the server. Keep this page open: it keeps trying.`
        : "There is nothing waiting to be sent.",
    );
  } catch (error) {
    status.notice(`The download did not work: ${error.message}`);
  }
}

async function start() {
  store = await openStore();
  sessionApi = keepingRescueSecrets(api, store);
  // Op batches go over a session's live socket while it is up, else over HTTP.
  transport = createTransport((sessionId, body) => api.postOps(sessionId, body));
  queue = new OpQueue({
    store,
    send: (sessionId, body) => transport.send(sessionId, body),
    deviceId,
    userId: () => (cachedUser() || {}).user_id || null,
    isOnline: () => navigator.onLine,
    withLock: navigator.locks
      ? (fn) => navigator.locks.request("examsync-queue-flush", fn)
      : null,
  });
  queue.addEventListener("change", (e) => transport.queueChanged(e.detail)); // reported to the proctor's roster
  status = createStatus({ queue, onDownload: rescue });
  setUnauthorizedHandler(unauthorized);
  queue.addEventListener("unauthorized", unauthorized);
  queue.addEventListener("batcherror", (e) => {
    const n = e.detail.records.length;
    status.notice(`The server refused ${n} ${n === 1 ? "change" : "changes"}: ${e.detail.error.message}`, { timeoutMs: 0 });
  });
  window.addEventListener("online", () => {
    queue.wake();
    refreshKey();
  });
  window.addEventListener("offline", () => status.render());
  const onLocation = () => {
    if (location.hash !== routedHash) route();
  };
  window.addEventListener("popstate", onLocation);
  window.addEventListener("hashchange", onLocation);
  logoutButton.addEventListener("click", logout);
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    const heading = main.querySelector("h1");
    focusElement(heading || main);
  });
  // Re-measure the sticky bar so that scrolling never hides a focused element under it.
  const topbar = document.getElementById("topbar");
  const setBarHeight = () => document.documentElement.style.setProperty("--bar-height", `${topbar.offsetHeight}px`);
  if (typeof ResizeObserver === "function") new ResizeObserver(setBarHeight).observe(topbar);
  setBarHeight();

  await queue.refresh();
  route();
  if (getToken()) {
    refreshUser().then(() => queue.flush());
    refreshKey();
  }
  registerServiceWorker();
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(
    () => navigator.serviceWorker.ready.then(() => (document.body.dataset.sw = "ready")),
    (error) => console.warn("examsync: the offline shell is unavailable", error),
  );
}

start().catch((error) => {
  console.error(error);
  main.textContent = "examsync could not start. Reload the page to try again.";
});
