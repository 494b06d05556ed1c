// A horizontal bar chart as inline SVG: each row has its name and percentage
// as text (colour and length are never the only signal), and optionally a
// link. Drawn at the container's real width so text keeps its size on phones.

import { s, clear } from "./dom.js";

const ROW = 80;
const VALUE_W = 56;

/**
 * rows: [{label, value (0..1), detail, link?: {href, text, label}}]
 */
export function renderBarChart(container, rows, { labelledBy = null, describe = "" } = {}) {
  const draw = () => {
    const width = Math.max(260, Math.floor(container.clientWidth || 600));
    const trackW = width - VALUE_W - 8;
    const svg = s("svg", {
      class: "bar-chart",
      width,
      height: rows.length * ROW + 4,
      viewBox: `0 0 ${width} ${rows.length * ROW + 4}`,
      role: "group",
      "aria-labelledby": labelledBy,
      "aria-label": labelledBy ? null : describe,
    });
    rows.forEach((row, i) => {
      const y = i * ROW;
      const value = Math.max(0, Math.min(1, row.value || 0));
      const pct = `${Math.round(value * 100)}%`;
      const g = s("g", { class: "bar-row", transform: `translate(0 ${y})` });
      const linkW = row.link ? 84 : 0;
      g.append(
        s("text", { class: "bar-label", x: 0, y: 18 }, row.label),
      );
      if (row.detail) g.append(s("text", { class: "bar-detail", x: 0, y: 64 }, row.detail));
      g.append(
        s("rect", { class: "bar-track", x: 0.5, y: 28.5, width: trackW, height: 18, rx: 3 }),
        s("rect", { class: "bar-fill", x: 0.5, y: 28.5, width: Math.max(value > 0 ? 3 : 0, trackW * value), height: 18, rx: 3 }),
        s("text", { class: "bar-value", x: width - 2, y: 43, "text-anchor": "end" }, pct),
      );
      if (row.link) {
        const a = s("a", { class: "bar-link", href: row.link.href, "aria-label": row.link.label || row.link.text });
        a.append(
          s("rect", { class: "bar-link-hit", x: width - linkW, y: 0, width: linkW, height: 26, rx: 4 }),
          s("text", { class: "bar-link-text", x: width - linkW / 2, y: 18, "text-anchor": "middle" }, row.link.text),
        );
        g.append(a);
      }
      svg.append(g);
    });
    clear(container).append(svg);
    return svg;
  };
  draw();
  let lastWidth = container.clientWidth;
  let pending = null;
  const observer = typeof ResizeObserver === "function"
    ? new ResizeObserver(() => {
      if (container.clientWidth === lastWidth) return;
      lastWidth = container.clientWidth;
      clearTimeout(pending);
      pending = setTimeout(draw, 100);
    })
    : null;
  if (observer) observer.observe(container);
  return () => {
    if (observer) observer.disconnect();
    clearTimeout(pending);
  };
}
