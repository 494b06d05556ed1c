// Inline SVG icons (no fonts or files needed). Always paired with text:
// an icon is never the only signal.

import { s } from "./dom.js";

const PATHS = {
  check: "M4 12.5l5 5L20 6.5",
  cross: "M6 6l12 12M18 6L6 18",
  flag: "M6 21V4M6 4h11l-2.5 4L17 12H6",
  dot: "M12 12m-3.5 0a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0",
  strike: "M4 12h16M8 7h8M8 17h8",
  clock: "M12 12m-8.5 0a8.5 8.5 0 1 0 17 0a8.5 8.5 0 1 0 -17 0M12 7v5l3 2",
  cloud: "M7 18h10a4 4 0 0 0 .5-7.97A6 6 0 0 0 6.1 9.2 4.5 4.5 0 0 0 7 18z",
  offline: "M3 3l18 18M7 18h10M6.1 9.2A4.5 4.5 0 0 0 7 18M12 5a6 6 0 0 1 5.5 5.03A4 4 0 0 1 20 17",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  warning: "M12 3l10 18H2zM12 10v5M12 18v.5",
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
