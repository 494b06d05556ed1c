// The question palette: one button per question of the section, each saying
// in words (its accessible name) and with icons whether it is answered,
// flagged or seen, and which is the current one.

import { h, clear } from "../../dom.js";
import { icon } from "../../icons.js";
import { questionStatus, sectionSummary } from "../../state.js";

export function createPalette(section, { onSelect }) {
  const list = h("ol", { id: "palette", class: "palette" });
  section.questions.forEach((question, i) => {
    const button = h("button", { type: "button", class: "palette-button", dataset: { questionIndex: String(i) } },
      h("span", { class: "palette-number", text: String(i + 1) }),
      h("span", { class: "palette-marks", attrs: { "aria-hidden": "true" } }));
    button.addEventListener("click", () => onSelect(question.id));
    list.append(h("li", {}, button));
  });
  const progress = h("p", { class: "palette-progress" });
  const legend = h("p", { class: "palette-legend", attrs: { "aria-hidden": "true" } },
    h("span", {}, icon("check", { size: 14 }), " answered"),
    h("span", {}, icon("flag", { size: 14 }), " flagged"),
    h("span", {}, icon("dot", { size: 14 }), " seen"),
    h("span", { class: "legend-current" }, "▢ current"));
  const element = h("nav", { class: "palette-nav card", attrs: { "aria-labelledby": "palette-heading" } },
    h("h2", { id: "palette-heading", class: "palette-heading", text: "Questions in this section" }),
    progress, list, legend);

  /** Show the section's state; `currentId` is the question on screen. */
  function update(current, currentId) {
    const summary = sectionSummary(current);
    progress.textContent = `${summary.answered} of ${summary.total} answered`;
    current.questions.forEach((question, i) => {
      const button = list.querySelector(`[data-question-index="${i}"]`);
      if (!button) return;
      const s = questionStatus(current, question.id);
      const isCurrent = question.id === currentId;
      const label = [`Question ${i + 1}`, s.answered ? "answered" : "unanswered"];
      if (s.flagged) label.push("flagged");
      if (!s.answered && s.visited && !isCurrent) label.push("seen");
      button.setAttribute("aria-label", label.join(", "));
      if (isCurrent) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
      button.classList.toggle("is-answered", s.answered);
      button.classList.toggle("is-flagged", s.flagged);
      button.classList.toggle("is-visited", s.visited);
      button.classList.toggle("is-current", isCurrent);
      const marks = button.querySelector(".palette-marks");
      const want = `${s.answered ? "a" : ""}${s.flagged ? "f" : ""}${!s.answered && s.visited ? "v" : ""}`;
      if (marks.dataset.marks !== want) {
        marks.dataset.marks = want;
        clear(marks);
        if (s.answered) marks.append(icon("check", { size: 14 }));
        if (s.flagged) marks.append(icon("flag", { size: 14 }));
        if (!s.answered && s.visited) marks.append(icon("dot", { size: 10 }));
      }
    });
  }

  return { element, update };
}
