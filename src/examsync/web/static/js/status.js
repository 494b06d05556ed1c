// The always-visible status area: connection, save state, the rescue
// download, and notices. #sync-status says exactly one of:
//   "Saving…" | "All changes saved at HH:MM:SS" |
//   "Offline — N changes queued" | "Sync failed — retrying in N s"
// N counts the student's changes (answers, flags, notes, ...), not navigation.
// On the test page, #live-status says whether the live connection is up:
//   "Live" | "Reconnecting…"

import { formatTime } from "./dom.js";
import { rescueAfterMs } from "./prefs.js";

/**
 * The status line for a queue snapshot (pure; exported for tests). `count` is the
 * student's changes waiting, `total` every op waiting (navigation included):
 * "All changes saved" only once nothing at all is waiting.
 */
export function syncText(snap, { online, now, savedAt }) {
  const total = snap.total ?? snap.count;
  const saved = `All changes saved at ${formatTime(snap.lastSavedAt || savedAt)}`;
  if (!online || snap.state === "offline") {
    if (snap.count > 0) return `Offline — ${snap.count} ${snap.count === 1 ? "change" : "changes"} queued`;
    return saved;
  }
  if (snap.state === "retrying" && snap.retryAt != null && total > 0) {
    return `Sync failed — retrying in ${Math.max(1, Math.ceil((snap.retryAt - now) / 1000))} s`;
  }
  if (total > 0 || snap.state === "sending") return "Saving…";
  return saved;
}

/** Should the "Download my answers" button show? Changes waiting too long. */
export function rescueDue(snap, now, afterMs = 120_000) {
  return snap.count > 0 && snap.oldestCreatedAt != null && now - snap.oldestCreatedAt >= afterMs;
}

export function createStatus({ queue, onDownload }) {
  const el = {
    sync: document.getElementById("sync-status"),
    connection: document.getElementById("connection"),
    connectionText: document.getElementById("connection-text"),
    download: document.getElementById("download-answers"),
    notice: document.getElementById("notice"),
    live: document.getElementById("live-status"),
  };
  const loadedAt = Date.now();
  let noticeTimer = null;
  let enabled = false;

  const render = () => {
    const snap = queue.snapshot();
    const online = navigator.onLine;
    document.body.dataset.queued = String(snap.count);
    el.connection.dataset.state = online ? "online" : "offline";
    if (el.connectionText.textContent !== (online ? "Online" : "Offline")) {
      el.connectionText.textContent = online ? "Online" : "Offline";
    }
    const text = enabled ? syncText(snap, { online, now: Date.now(), savedAt: loadedAt }) : "";
    if (el.sync.textContent !== text) el.sync.textContent = text;
    el.sync.dataset.state = !online ? "offline" : snap.state;
    const due = enabled && rescueDue(snap, Date.now(), rescueAfterMs());
    if (el.download.hidden === due) el.download.hidden = !due;
  };

  queue.addEventListener("change", render);
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  setInterval(render, 1000);
  el.download.addEventListener("click", () => onDownload());

  return {
    render,
    /** The sync line shows only once someone is logged in. */
    setEnabled(on) {
      enabled = on;
      render();
    },
    /** The live connection's state in words, or null to hide it (off the test page). */
    live(text) {
      el.live.hidden = text == null;
      el.live.dataset.state = text === "Live" ? "live" : "down";
      if (el.live.textContent !== (text || "")) el.live.textContent = text || "";
    },
    notice(text, { timeoutMs = 30_000 } = {}) {
      clearTimeout(noticeTimer);
      el.notice.textContent = text;
      if (text && timeoutMs) noticeTimer = setTimeout(() => (el.notice.textContent = ""), timeoutMs);
    },
  };
}
