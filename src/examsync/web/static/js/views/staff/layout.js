// The frame of every staff page: the staff navigation, the page heading, a
// status line for messages, and the body the page fills in.

import { h, focusElement } from "../../dom.js";
import { explain } from "./api.js";

const LINKS = [
  ["home", "#/staff", "Home"],
  ["classes", "#/staff/classes", "Classes"],
  ["assignments", "#/staff/assignments", "Assignments"],
  ["content", "#/staff/content", "Content"],
  ["editor", "#/staff/editor", "Test editor"],
];

/**
 * page({ctx, root, section, title, crumbs}) → {heading, body, say, fail, ready, setTitle}
 * crumbs: [[href, text]] shown above the heading as the way back.
 */
export function page({ ctx, root, section, title, crumbs = [], wide = false }) {
  const me = ctx.user() || {};
  const links = me.role === "admin"
    ? [...LINKS, ["accounts", "#/staff/accounts", "Accounts"], ["lti", "#/staff/lti", "LTI"]] : LINKS;
  const nav = h("nav", { class: "staff-nav", attrs: { "aria-label": "Staff" } },
    h("ul", {}, links.map(([key, href, text]) => h("li", {},
      h("a", { href, text, attrs: { "aria-current": key === section ? "page" : null } })))));
  const heading = h("h1", { text: title, attrs: { tabindex: "-1" } });
  const message = h("p", { class: "callout", hidden: true, attrs: { role: "status" } });
  const body = h("div", { class: "staff-body" });
  const trail = crumbs.length
    ? h("p", { class: "crumbs" }, crumbs.map(([href, text], i) => [i ? " / " : "", h("a", { href, text })]))
    : null;
  const container = h("div", { class: ["staff-page", wide && "staff-wide"], dataset: { staffPage: section } },
    nav, trail, heading, message, body);
  root.append(container);
  document.body.classList.toggle("staff-wide-main", wide);
  document.title = `${title} — examsync`;
  focusElement(heading);

  const say = (text) => {
    message.hidden = !text;
    message.textContent = text || "";
  };
  return {
    heading,
    body,
    say,
    fail(error, what = "This page could not load") {
      if (error && error.status === 401) return;
      say(`${what}: ${explain(error)}`);
      document.body.dataset.ready = "1";
    },
    ready() {
      document.body.dataset.ready = "1";
    },
    setTitle(text) {
      heading.textContent = text;
      document.title = `${text} — examsync`;
    },
  };
}

/** A form field: label, control, optional hint, all linked. */
export function field(label, control, hint = "") {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" },
    h("label", { for: control.id, text: label }), control,
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null);
}

/** A table inside a region that scrolls sideways on narrow screens (and can be focused to scroll by keyboard). */
export function scrollTable(label, table) {
  return h("div", { class: "table-scroll", attrs: { role: "region", "aria-label": label, tabindex: "0" } }, table);
}

/** Run an async action from a button: busy while it runs, the error shown in `error` (a role=alert element). */
export async function busy(button, error, action) {
  if (error) error.textContent = "";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (err) {
    if (err.status !== 401 && error) error.textContent = explain(err);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
