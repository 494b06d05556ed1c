// The frame of the content page and the test editor: a navigation between the two, the heading, a status line.

import { h, focusElement } from "../../dom.js";
import { explainError } from "./content-api.js";

const LINKS = [["content", "#/staff/content", "Content"], ["editor", "#/staff/editor", "Test editor"]];

export function staffFrame(root, ctx, { section, title, crumbs = [] }) {
  const nav = h("nav", { class: "editor-nav", attrs: { "aria-label": "Content" } },
    h("ul", {}, LINKS.map(([key, href, text]) => h("li", {},
      h("a", { href, text, attrs: { "aria-current": key === section ? "page" : null } })))));
  const heading = h("h1", { text: title, attrs: { tabindex: "-1" } });
  const message = h("p", { class: "callout", hidden: true, attrs: { role: "status" } });
  const body = h("div", { class: "editor-body" });
  const trail = crumbs.length
    ? h("p", { class: "crumbs" }, crumbs.map(([href, text], i) => [i ? " / " : "", h("a", { href, text })]))
    : null;
  root.append(h("div", { class: "editor-page", dataset: { page: section } }, nav, trail, heading, message, body));
  document.title = `${title} — examsync`;
  focusElement(heading);
  return {
    heading,
    body,
    say(text) {
      message.hidden = !text;
      message.textContent = text || "";
    },
    fail(error, what) {
      if (error && error.status === 401) return;
      message.hidden = false;
      message.textContent = `${what}: ${explainError(error)}`;
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
