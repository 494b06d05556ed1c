// Small values kept in localStorage: this browser's device id, the last client
// time it stamped on an op, the cached account (for offline use and the rescue
// file), the device token of each email that logged in here, and the student's
// settings.

import { nextClientTime } from "./state.js";

const KEYS = {
  device: "examsync.device-id",
  lastOpTime: "examsync.last-op-time",
  user: "examsync.user",
  shortcuts: "examsync.shortcuts",
  timerHidden: "examsync.timer-hidden",
  rescueAfter: "examsync.rescue-after-ms",
};

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* private mode or full: settings then last for this page only */
  }
}

/** A random id for this browser, kept for good: the server learns each device's clock offset by it. */
export function deviceId() {
  let id = read(KEYS.device);
  if (!id) {
    id = crypto.randomUUID();
    write(KEYS.device, id);
  }
  return id;
}

// Also held here, so that stamps keep increasing when localStorage cannot be written.
let lastOpTime = 0;

/** The client time for this browser's next op: strictly increasing, also across reloads and when the clock goes back. */
export function nextOpTime(now = Date.now()) {
  lastOpTime = nextClientTime(now, Math.max(lastOpTime, Number(read(KEYS.lastOpTime)) || 0));
  write(KEYS.lastOpTime, String(lastOpTime));
  return lastOpTime;
}

export function cachedUser() {
  try {
    return JSON.parse(read(KEYS.user) || "null");
  } catch {
    return null;
  }
}

export function setCachedUser(user) {
  write(KEYS.user, user ? JSON.stringify(user) : null);
}

const deviceTokenKey = (email) => `examsync.device-token.${email.trim().toLowerCase()}`;

/** The device token the last login on this email from this browser got: it lets later logins past limits set off
 * by others' failures from the same address (docs/security.md, "Limits"). */
export function deviceToken(email) {
  return read(deviceTokenKey(email));
}

export function setDeviceToken(email, token) {
  write(deviceTokenKey(email), token || null);
}

export function shortcutsEnabled() {
  return read(KEYS.shortcuts) !== "off";
}

export function setShortcutsEnabled(on) {
  write(KEYS.shortcuts, on ? "on" : "off");
}

export function timerHidden() {
  return read(KEYS.timerHidden) === "1";
}

export function setTimerHidden(hidden) {
  write(KEYS.timerHidden, hidden ? "1" : null);
}

/** How long changes may wait before the rescue download is offered (2 minutes). */
export function rescueAfterMs() {
  const value = Number(read(KEYS.rescueAfter));
  return Number.isFinite(value) && value > 0 ? value : 120_000;
}

/** Timer warnings already announced, per section, so that a reload does not repeat them. */
export function announcedWarnings(sectionKey) {
  try {
    return JSON.parse(localStorage.getItem(`examsync.warned.${sectionKey}`) || "[]");
  } catch {
    return [];
  }
}

export function setAnnouncedWarnings(sectionKey, list) {
  try {
    localStorage.setItem(`examsync.warned.${sectionKey}`, JSON.stringify(list));
  } catch {
    /* not essential */
  }
}
