// Charts of the assignment report as inline SVG built with DOM calls: a score
// histogram and a small distractor chart per item. Every bar carries its number
// as text, so neither colour nor length is the only signal.

import { s } from "../../dom.js";

/** Counts of percents (0..100) in ten bins: 0–9, 10–19, …, 90–100. */
export function histogramBins(percents) {
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i * 10, to: i === 9 ? 100 : i * 10 + 9, count: 0 }));
  for (const p of percents) {
    if (p == null || Number.isNaN(p)) continue;
    bins[Math.min(9, Math.max(0, Math.floor(p / 10)))].count += 1;
  }
  return bins;
}

export function histogram(percents, { labelledBy }) {
  const bins = histogramBins(percents);
  const max = Math.max(1, ...bins.map((b) => b.count));
  const W = 640;
  const H = 240;
  const left = 8;
  const bottom = 44;
  const top = 24;
  const barW = (W - left * 2) / bins.length;
  const svg = s("svg", { class: "histogram", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": labelledBy,
    preserveAspectRatio: "xMidYMid meet" });
  svg.append(s("line", { class: "axis", x1: left, x2: W - left, y1: H - bottom + 0.5, y2: H - bottom + 0.5 }));
  bins.forEach((bin, i) => {
    const height = ((H - bottom - top) * bin.count) / max;
    const x = left + i * barW;
    const g = s("g", { class: "hist-bin" });
    if (bin.count) g.append(s("rect", { class: "hist-bar", x: x + 4, y: H - bottom - height, width: barW - 8, height }));
    g.append(
      s("text", { class: "hist-count", x: x + barW / 2, y: H - bottom - height - 6, "text-anchor": "middle" }, String(bin.count)),
      s("text", { class: "hist-label", x: x + barW / 2, y: H - bottom + 18, "text-anchor": "middle" }, `${bin.from}–${bin.to}`),
    );
    svg.append(g);
  });
  svg.append(s("text", { class: "hist-axis-label", x: W / 2, y: H - 6, "text-anchor": "middle" }, "Score (%)"));
  return svg;
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The letter a choice is shown with: its own id when that is one letter, else its place. */
export function choiceLetter(choiceId, index) {
  return /^[a-z]$/i.test(choiceId) ? choiceId.toUpperCase() : LETTERS[index] || String(index + 1);
}

/** One item's choices: a bar of the share of students holding each, with the upper and lower groups' shares. */
export function distractorChart(choices, { label }) {
  const ROW = 22;
  const W = 300;
  const labelW = 30;
  const valueW = 132;
  const track = W - labelW - valueW - 8;
  const svg = s("svg", { class: "distractor-chart", viewBox: `0 0 ${W} ${choices.length * ROW + 2}`, width: W, height: choices.length * ROW + 2,
    role: "img", "aria-label": label });
  choices.forEach((c, i) => {
    const share = c.share || 0;
    const y = i * ROW;
    const g = s("g", { class: "distractor-row" });
    const upper = c.upper_share == null ? "–" : `${Math.round(c.upper_share * 100)}`;
    const lower = c.lower_share == null ? "–" : `${Math.round(c.lower_share * 100)}`;
    g.append(
      s("text", { class: "distractor-letter", x: 0, y: y + 15 }, `${choiceLetter(c.choice_id, i)}${c.correct ? "✓" : ""}`),
      s("rect", { class: "bar-track", x: labelW + 0.5, y: y + 4.5, width: track, height: 12, rx: 2 }),
      s("rect", { class: c.correct ? "bar-fill is-correct" : "bar-fill", x: labelW + 0.5, y: y + 4.5, width: Math.max(share > 0 ? 2 : 0, track * share), height: 12, rx: 2 }),
      s("text", { class: "distractor-value", x: W, y: y + 15, "text-anchor": "end" }, `${Math.round(share * 100)}% (${upper}/${lower})`),
    );
    svg.append(g);
  });
  return svg;
}
