// The assignment report: score summary and histogram, sub-skill averages, each
// student's result (with their printable report), and the item analysis with a
// distractor chart per item. The results download as CSV, the sessions and
// their logs as a JSON bundle.

import { h, formatDateTime, plural } from "../../dom.js";
import { API } from "../../api.js";
import { renderBarChart } from "../../chart.js";
import { staffApi, download, explain } from "./api.js";
import { page, scrollTable } from "./layout.js";
import { histogram, distractorChart, choiceLetter } from "./charts.js";
import { num, pct, percentLabel } from "./format.js";

export function mount(root, ctx, route) {
  const id = route.id;
  const view = page({ ctx, root, section: "assignments", title: "Assignment report", wide: true, crumbs: [["#/staff", "Home"]] });
  let disposed = false;
  let disposeChart = () => {};
  Promise.all([staffApi.results(id), staffApi.items(id), staffApi.assignment(id).catch(() => null)]).then(([results, items, a]) => {
    if (disposed) return;
    if (a) view.setTitle(`Report: ${a.test_title}, ${a.class_name}`);
    const skillsBox = h("div", { id: "skills-chart", class: "chart" });
    view.body.append(
      downloads(id, view),
      summarySection(results),
      skillsSection(skillsBox),
      studentsSection(id, results),
      itemsSection(items),
    );
    const skills = subSkillAverages(results.students);
    if (skills.length) disposeChart = renderBarChart(skillsBox, skills, { labelledBy: "skills-heading" });
    else skillsBox.replaceChildren(h("p", { class: "muted", text: "No submitted attempt yet." }));
    view.ready();
  }, (error) => view.fail(error, "The report could not load"));
  return () => {
    disposed = true;
    disposeChart();
  };
}

function downloads(id, view) {
  const csv = h("a", { href: `${API}/assignments/${encodeURIComponent(id)}/results?format=csv`, id: "download-csv", class: "button button-secondary button-small", text: "Download results (CSV)", attrs: { download: "results.csv" } });
  const bundle = h("a", { href: `${API}/assignments/${encodeURIComponent(id)}/export`, id: "download-bundle", class: "button button-quiet button-small", text: "Download sessions and logs (JSON)", attrs: { download: "sessions.json" } });
  // The API wants the login's token in a header, so the links fetch and then save.
  for (const [link, name] of [[csv, "results.csv"], [bundle, "sessions.json"]]) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      download(link.getAttribute("href"), name).catch((error) => view.say(`The download did not work: ${explain(error)}`));
    });
  }
  return h("p", { class: "card-actions" }, csv, bundle,
    h("a", { class: "button button-quiet button-small", href: `#/staff/proctor/${encodeURIComponent(id)}`, text: "Proctor page" }));
}

function summarySection(results) {
  const s = results.summary || {};
  const percents = results.students.filter((st) => st.percent != null).map((st) => st.percent);
  return h("section", { class: "block", attrs: { "aria-labelledby": "distribution-heading" } },
    h("h2", { id: "distribution-heading", text: "Score distribution" }),
    h("ul", { class: "facts summary-facts", id: "score-summary" },
      h("li", { text: `${plural(s.count || 0, "submitted attempt")}` }),
      h("li", { text: `Mean ${percentLabel(s.mean)}` }),
      h("li", { text: `Median ${percentLabel(s.median)}` }),
      h("li", { text: `Standard deviation ${num(s.stdev)}` }),
      h("li", { text: `Lowest ${percentLabel(s.min)}` }),
      h("li", { text: `Highest ${percentLabel(s.max)}` })),
    percents.length ? h("div", { class: "chart" }, histogram(percents, { labelledBy: "distribution-heading" })) : null);
}

/** Average of each sub-skill over the students who have it: [{label, value (0..1), detail}]. */
export function subSkillAverages(students) {
  const sums = new Map();
  for (const st of students) {
    for (const [name, v] of Object.entries(st.by_sub_skill || {})) {
      const value = typeof v === "number" ? v / 100
        : v && v.percent != null ? v.percent / 100
          : v && v.accuracy != null ? v.accuracy
            : v && v.attempts ? v.correct / v.attempts : null;
      if (value == null) continue;
      const entry = sums.get(name) || { total: 0, n: 0, label: (v && v.name) || name };
      entry.total += value;
      entry.n += 1;
      sums.set(name, entry);
    }
  }
  return [...sums.values()].map((e) => ({ label: e.label, value: e.total / e.n, detail: `average of ${plural(e.n, "student")}` }))
    .sort((a, b) => a.value - b.value);
}

function skillsSection(box) {
  return h("section", { class: "block", attrs: { "aria-labelledby": "skills-heading" } },
    h("h2", { id: "skills-heading", text: "Sub-skill averages" }), box);
}

function studentsSection(id, results) {
  const status = { completed: "Submitted", active: "In progress", paused: "Paused", not_started: "Not started" };
  return h("section", { class: "block", attrs: { "aria-labelledby": "students-heading" } },
    h("h2", { id: "students-heading", text: "Students" }),
    scrollTable("Students' results", h("table", { class: "data-table", id: "results-table" },
      h("thead", {}, h("tr", {}, ["Student", "Status", "Score", "Percent", "Submitted"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, results.students.map((st) => h("tr", { dataset: { userId: st.user_id } },
        h("th", { scope: "row" }, h("a", { href: `#/staff/student/${encodeURIComponent(id)}/${encodeURIComponent(st.user_id)}`,
          text: st.display_name || st.email || st.user_id, attrs: { "aria-label": `${st.display_name}: printable report` } })),
        h("td", { text: status[st.status] || st.status }),
        h("td", { text: st.score == null ? "—" : `${num(st.score)} of ${num(st.max_score)}` }),
        h("td", { class: "cell-percent", text: percentLabel(st.percent) }),
        h("td", { text: st.submitted_at ? formatDateTime(st.submitted_at) : "—" })))))));
}

function itemsSection(items) {
  return h("section", { class: "block", attrs: { "aria-labelledby": "items-heading" } },
    h("h2", { id: "items-heading", text: "Items" }),
    h("p", { class: "hint", text: "Facility: the share correct among those who saw the item. Discrimination: how well the item separates strong from weak students (correlation with the rest of the test; shown from 5 students). Upper − lower: facility in the top 27 % minus the bottom 27 %. Each choice shows its share, then the upper/lower groups' shares in %; ✓ marks the correct choice." }),
    scrollTable("Item analysis", h("table", { class: "data-table items-table", id: "items-table" },
      h("thead", {}, h("tr", {}, ["#", "Question", "Answered", "Correct", "Facility", "Discrimination", "Upper − lower", "Median time", "Choices"]
        .map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, items.map((item, i) => h("tr", { dataset: { questionId: item.question_id } },
        h("th", { scope: "row", text: String(i + 1) }),
        h("td", { class: "item-stem", text: item.stem_preview }),
        h("td", { class: "cell-answered", text: String(item.answered) }),
        h("td", { class: "cell-correct", text: String(item.correct) }),
        h("td", { class: "cell-facility", text: pct(item.facility) }),
        h("td", { class: "cell-discrimination", text: item.discrimination == null ? "—" : item.discrimination.toFixed(2) }),
        h("td", { class: "cell-upper-lower", text: item.upper_lower == null ? "—" : item.upper_lower.toFixed(2) }),
        h("td", { text: item.median_time_ms == null ? "—" : `${Math.round(item.median_time_ms / 1000)} s` }),
        h("td", { class: "cell-choices" }, item.choices && item.choices.length
          ? distractorChart(item.choices, { label: `Question ${i + 1} choices: ${item.choices.map((c, j) => `${choiceLetter(c.choice_id, j)}${c.correct ? " (correct)" : ""} ${Math.round((c.share || 0) * 100)}%`).join(", ")}` })
          : "—")))))));
}
