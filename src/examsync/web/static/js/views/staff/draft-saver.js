// Saving a draft as the teacher types (docs/content-format.md, "Writing tests in the browser").
//
// Every change is kept on this device first (localStorage, under the draft's id) and sent to the server a moment
// after typing stops, with the version it was made from. When the server cannot be reached the state is
// "retrying" ("Not saved — retrying"): the document stays on the device and is sent again with a growing pause,
// and at once when the browser is back online. A save the server refuses as `draft_conflict` (the draft was saved
// elsewhere meanwhile) is never merged: the state is "conflict" until the teacher loads the server's version or
// overwrites it with theirs.

const KEY = (draftId) => `examsync.draft.${draftId}`;
const RETRY_MS = [1000, 2000, 5000, 10000, 20000, 30000];

/** The copy of the draft kept on this device: {base (the version it was made from), document, dirty} or null. */
export function localCopy(draftId, storage = localStorage) {
  try {
    const raw = storage.getItem(KEY(draftId));
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function forgetLocalCopy(draftId, storage = localStorage) {
  try {
    storage.removeItem(KEY(draftId));
  } catch {
    /* nothing kept */
  }
}

/**
 * createDraftSaver({draftId, version, save(version, document) → {version}, onState({state, message, version})})
 * states: saved | pending (typed, not sent yet) | saving | retrying | conflict | error
 */
export function createDraftSaver({ draftId, version, save, onState, storage = localStorage, delayMs = 700,
  isOnline = () => navigator.onLine, now = () => Date.now() }) {
  let base = version;
  let document = null;
  let changedAt = 0; // when the document last changed
  let sentAt = -1; // the change the server has
  let timer = null;
  let inFlight = null;
  let attempts = 0;
  let state = "saved";
  let conflictVersion = null;
  let message = "";

  const set = (next, text = "") => {
    state = next;
    message = text;
    onState({ state, message, version: base, conflictVersion });
  };
  const keep = (dirty) => {
    try {
      storage.setItem(KEY(draftId), JSON.stringify({ base, document, dirty }));
    } catch {
      /* storage full or refused: the server copy and the page still hold it */
    }
  };
  const schedule = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      flush();
    }, ms);
  };

  async function flush() {
    if (inFlight || document === null || sentAt === changedAt || state === "conflict") return inFlight;
    const sending = changedAt;
    const body = document;
    set("saving");
    inFlight = (async () => {
      try {
        const saved = await save(base, body);
        base = saved.version;
        sentAt = sending;
        attempts = 0;
        keep(sentAt !== changedAt);
        if (sentAt === changedAt) set("saved");
        else schedule(0);
      } catch (error) {
        if (error.code === "draft_conflict") {
          conflictVersion = error.data && error.data.version;
          set("conflict", error.message);
        } else if (error.network || error.status >= 500 || error.status === 429) {
          set("retrying", error.message);
          schedule(RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)]);
        } else {
          set("error", error.message);
        }
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  const onOnline = () => {
    if (state === "retrying" || state === "pending") {
      attempts = 0;
      schedule(0);
    }
  };
  window.addEventListener("online", onOnline);

  return {
    get state() {
      return state;
    },
    get version() {
      return base;
    },
    /** The document changed: keep it here at once, send it when typing pauses. */
    change(next) {
      document = next;
      changedAt = Math.max(now(), changedAt + 1);
      keep(true);
      if (state === "conflict") return;
      if (state !== "retrying") set(isOnline() ? "pending" : "retrying", isOnline() ? "" : "offline");
      if (state === "retrying" && timer) return; // the retry already waiting sends the newest document
      schedule(delayMs);
    },
    /** Send now (before publishing); resolves when the server has the newest document, or rejects. */
    async saveNow() {
      clearTimeout(timer);
      await flush();
      if (inFlight) await inFlight;
      if (sentAt !== changedAt && document !== null) await flush();
      if (state !== "saved") throw new Error(message || "the draft is not saved yet");
    },
    /** Conflict: save this document over the server's version. */
    overwrite() {
      if (conflictVersion != null) base = conflictVersion;
      conflictVersion = null;
      set("pending");
      sentAt = -1;
      schedule(0);
    },
    /** Start over from the server's document (a reload after a conflict). */
    reset(serverVersion) {
      clearTimeout(timer);
      base = serverVersion;
      document = null;
      sentAt = changedAt;
      conflictVersion = null;
      forgetLocalCopy(draftId, storage);
      set("saved");
    },
    /** The local copy was made from an older version than the server's: a conflict to resolve first. */
    conflict(serverVersion, document_) {
      document = document_;
      changedAt = Math.max(now(), changedAt + 1);
      conflictVersion = serverVersion;
      set("conflict", "This draft was saved elsewhere after the changes kept on this device.");
    },
    stop() {
      clearTimeout(timer);
      window.removeEventListener("online", onOnline);
    },
  };
}
