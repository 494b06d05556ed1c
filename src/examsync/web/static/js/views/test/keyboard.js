// Single-key shortcuts on the question screen (they can be switched off, for
// speech input and screen readers): ← → move, 1–9 or A–D choose, F flags.
// Never while typing, in a dialog, or with a modifier key.

import { shortcutsEnabled } from "../../prefs.js";

const TEXT_INPUTS = new Set(["text", "search", "email", "number", "password", "tel", "url"]);

/** Which action a key press stands for, or null. Pure: exported for tests. */
export function shortcutFor(event, { choiceCount }) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return null;
  const t = event.target;
  const tag = t && t.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return null;
  if (tag === "INPUT" && TEXT_INPUTS.has(t.type)) return null;
  const onChoice = tag === "INPUT" && (t.type === "radio" || t.type === "checkbox");
  const key = event.key;
  if (key === "ArrowLeft" || key === "ArrowRight") {
    if (onChoice) return null; // arrows move within a radio group natively
    return { type: "go", delta: key === "ArrowLeft" ? -1 : 1 };
  }
  if (key === "f" || key === "F") return { type: "flag" };
  let index = -1;
  if (/^[1-9]$/.test(key)) index = Number(key) - 1;
  else if (/^[a-dA-D]$/.test(key)) index = key.toUpperCase().charCodeAt(0) - 65;
  if (index < 0 || index >= choiceCount) return null;
  return { type: "choose", index };
}

/** Listen on the document; `active()` says whether the question screen is up. Returns the remover. */
export function installShortcuts({ active, choiceCount, onGo, onFlag, onChoose }) {
  const onKeydown = (event) => {
    if (!active() || !shortcutsEnabled()) return;
    if (document.querySelector("dialog[open]")) return;
    const action = shortcutFor(event, { choiceCount: choiceCount() });
    if (!action) return;
    event.preventDefault();
    if (action.type === "go") onGo(action.delta);
    else if (action.type === "flag") onFlag();
    else onChoose(action.index);
  };
  document.addEventListener("keydown", onKeydown);
  return () => document.removeEventListener("keydown", onKeydown);
}
