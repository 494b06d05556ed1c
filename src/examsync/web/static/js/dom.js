// Small DOM helpers. Text always goes in with textContent; the only HTML that
// is ever parsed is content the server sanitized (question stems, choices,
// explanations), passed explicitly as `serverHtml`.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("button", {class: "x", text: "Go", on: {click}, attrs: {"aria-pressed": "false"}, dataset: {id}}, ...children)
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== false) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = value;
    else if (key === "serverHtml") el.innerHTML = value; // sanitized by the server (nh3) before it was stored
    else if (key === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "for") el.htmlFor = value; // a label's `for` is the htmlFor property
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) {
      if (v != null && v !== false) el.setAttribute(a, v === true ? "" : String(v));
    }
    else el[key] = value;
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Put text in a live region so that it is announced even when it repeats. */
export function announce(region, text) {
  if (!region) return;
  region.textContent = "";
  // A separate task, so that assistive technology notices a change.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** Move focus to a heading or container that is not normally focusable. */
export function focusElement(el) {
  if (!el) return;
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: false });
}

export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function formatDateTime(ms) {
  if (!ms) return "—";
  return new Date(ms).toLocaleString("en-GB", {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

export function percent(fraction) {
  return `${Math.round((fraction || 0) * 100)}%`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
