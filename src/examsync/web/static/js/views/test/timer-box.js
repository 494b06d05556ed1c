// The section timer in the sticky bar: the countdown, a button to hide it
// (it comes back for the last five minutes), spoken warnings at 10, 5 and
// 1 minute left, each said once per section (also across reloads), and a
// "Paused" mark while staff have paused the test.

import { h } from "../../dom.js";
import { icon } from "../../icons.js";
import { Countdown, formatClock, formatSpoken } from "../../timer.js";
import { timerHidden, setTimerHidden, announcedWarnings, setAnnouncedWarnings } from "../../prefs.js";

const LOW_MS = 5 * 60_000;

export function createTimerBox(parent) {
  const countdown = new Countdown();
  let sectionKey = null;
  let hide = timerHidden();

  const text = h("span", { id: "timer", class: "timer", attrs: { role: "timer", "aria-live": "off", "aria-atomic": "true", "aria-labelledby": "timer-label" } });
  const label = h("span", { id: "timer-label", class: "visually-hidden", text: "Time remaining in this section" });
  const toggle = h("button", { type: "button", id: "toggle-timer", class: "button button-small button-quiet", attrs: { "aria-controls": "timer" } });
  const announcer = h("div", { id: "timer-announcer", class: "visually-hidden", attrs: { "aria-live": "polite", "aria-atomic": "true" } });
  const pausedMark = h("span", { id: "timer-paused", class: "timer-paused", hidden: true, text: "Paused" });
  const box = h("div", { class: "timer-box", hidden: true },
    icon("clock"), label, text, pausedMark, h("span", { class: "timer-hidden-text", text: "Timer hidden" }), toggle, announcer);
  parent.append(box);

  const renderVisibility = () => {
    text.hidden = hide;
    box.classList.toggle("is-hidden", hide);
    toggle.textContent = hide ? "Show timer" : "Hide timer";
  };
  toggle.addEventListener("click", () => {
    hide = !hide;
    setTimerHidden(hide);
    renderVisibility();
  });
  renderVisibility();

  countdown.addEventListener("tick", (e) => {
    const ms = e.detail.remainingMs;
    toggle.hidden = ms == null;
    if (ms == null) {
      text.textContent = "Untimed";
      text.removeAttribute("aria-label");
      box.classList.remove("is-low");
      return;
    }
    text.textContent = formatClock(ms);
    text.setAttribute("aria-label", formatSpoken(ms));
    box.classList.toggle("is-low", ms <= LOW_MS);
  });
  countdown.addEventListener("warning", (e) => {
    if (sectionKey) setAnnouncedWarnings(sectionKey, e.detail.announced);
    announcer.textContent = e.detail.text;
    setTimeout(() => {
      if (announcer.textContent === e.detail.text) announcer.textContent = "";
    }, 20_000);
    if (hide && e.detail.thresholdMs <= LOW_MS) {
      hide = false; // like Bluebook: the timer comes back for the last five minutes
      renderVisibility();
    }
  });

  return {
    countdown,
    show(visible) {
      box.hidden = !visible;
    },
    /** Staff paused the test: the countdown stands still (the server's anchor says so) and says why. */
    paused(on) {
      pausedMark.hidden = !on;
      box.classList.toggle("is-paused", on);
    },
    /** The server's word on a section's clock; `key` names the section (its warnings are its own). */
    sync(key, { remainingMs, running, sentAt = null, at }) {
      if (key !== sectionKey) {
        sectionKey = key;
        countdown.reset(key ? announcedWarnings(key) : []);
      }
      countdown.sync({ remainingMs, running, sentAt, receivedAt: at });
    },
    dispose() {
      countdown.dispose();
      box.remove();
    },
  };
}
