// Inline SVG icons (no fonts or files needed). Always paired with text:
// an icon is never the only signal.

import { s } from "./dom.js";

const PATHS = {
  check: "M4 12.5l5 5L20 6.5",
  cross: "M6 6l12 12M18 6L6 18",
  flag: "M6 21V4M6 4h11l-2.5 4L17 12H6",
  dot: "M12 12m-3.5 0a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0",
  clock: "M12 12m-8.5 0a8.5 8.5 0 1 0 17 0a8.5 8.5 0 1 0 -17 0M12 7v5l3 2",
};

export function icon(name, { size = 18, label = null } = {}) {
  const el = s(
    "svg",
    {
      class: `icon icon-${name}`,
      viewBox: "0 0 24 24",
      width: size,
      height: size,
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 2.2,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      focusable: "false",
      "aria-hidden": label ? null : "true",
      role: label ? "img" : null,
      "aria-label": label,
    },
    s("path", { d: PATHS[name] }),
  );
  if (name === "dot") el.setAttribute("fill", "currentColor");
  return el;
}
