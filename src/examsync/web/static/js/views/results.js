// Results: the score, by section and by sub-skill, and a review of every
// question of the submitted sections (the student's answer, the correct one,
// and the explanation). Waits for this session's queued changes first.

import { h, clear, percent, plural } from "../dom.js";
import { icon } from "../icons.js";
import { renderBarChart } from "../chart.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const fmt = (n) => (n == null ? "—" : Number.isInteger(n) ? String(n) : n.toFixed(1));

export function mount(root, ctx, route) {
  const sessionId = route.id;
  const cacheKey = `results:${sessionId}`;
  document.title = "Results — examsync";
  let disposed = false;
  let disposeChart = () => {};
  const page = h("div", { id: "results-page", class: "results-page" });
  const heading = h("h1", { text: "Your results", attrs: { tabindex: "-1" } });
  const message = h("p", { class: "callout", hidden: true, attrs: { role: "status" } });
  const body = h("div");
  page.append(h("p", {}, h("a", { href: "#/dashboard", class: "back-link", text: "← Back to the dashboard" })), heading, message, body);
  root.append(page);
  heading.focus();

  const say = (text) => {
    message.hidden = !text;
    message.textContent = text || "";
  };

  const render = (results) => {
    disposeChart();
    clear(body);
    heading.textContent = `Results: ${results.test_title}`;
    document.title = `Results: ${results.test_title} — examsync`;
    const scored = results.sections.filter((s) => s.score != null);
    body.append(summary(results, scored));
    if (results.by_sub_skill.length) {
      const chartBox = h("div", { id: "results-chart", class: "chart" });
      body.append(h("section", { class: "block", attrs: { "aria-labelledby": "skills-heading" } },
        h("h2", { id: "skills-heading", text: "By skill" }), chartBox));
      disposeChart = renderBarChart(chartBox, results.by_sub_skill.map((s) => ({
        label: s.name,
        value: s.accuracy,
        detail: `${s.correct} of ${s.attempts} correct`,
      })), { labelledBy: "skills-heading" });
    }
    body.append(review(scored));
    body.append(h("p", { class: "card-actions" }, h("a", { href: "#/dashboard", class: "button button-primary", text: "Back to the dashboard" })));
    document.body.dataset.ready = "1";
  };

  const load = async () => {
    const me = ctx.user();
    const stored = await ctx.store.getSnapshot(cacheKey).catch(() => null);
    const cached = stored && stored.user_id === (me ? me.user_id : null) ? stored.results : null;
    if (disposed) return;
    if (cached) render(cached);
    const waiting = ctx.queue.queued(sessionId).length;
    if (waiting) {
      say(`Sending your last ${plural(waiting, "change")}…`);
      await waitForQueue();
      if (disposed) return;
    }
    try {
      const results = await ctx.api.results(sessionId);
      if (disposed) return;
      say(results.status === "completed" ? "" : "This test is still in progress: only submitted sections are scored below.");
      ctx.store.putSnapshot(cacheKey, { results, user_id: me ? me.user_id : null }).catch(() => {});
      render(results);
    } catch (error) {
      if (disposed || error.status === 401) return;
      if (error.network) {
        say(cached
          ? "You are offline. These are your results as last saved on this device."
          : "You are offline. Your answers are saved on this device; your results will appear here when you are back online.");
      } else if (error.status === 404) {
        say("These results were not found. They may belong to another account.");
      } else {
        say(`The results could not load: ${error.message}`);
      }
      document.body.dataset.ready = "1";
    }
  };

  // Results computed before the last answers arrive would be wrong: wait (briefly) for them.
  const waitForQueue = () => new Promise((resolve) => {
    const check = () => {
      if (disposed || !ctx.queue.queued(sessionId).length || !navigator.onLine) {
        ctx.queue.removeEventListener("change", check);
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => {
      ctx.queue.removeEventListener("change", check);
      resolve();
    }, 15_000);
    ctx.queue.addEventListener("change", check);
    ctx.queue.flush();
    check();
  });

  const onOnline = () => load();
  window.addEventListener("online", onOnline);
  load();
  return () => {
    disposed = true;
    disposeChart();
    window.removeEventListener("online", onOnline);
  };
}

function summary(results, scored) {
  const pct = results.max_score ? results.score / results.max_score : null;
  const total = results.score != null
    ? h("p", { class: "score-total" },
      h("span", { class: "score-number", text: `${fmt(results.score)} of ${fmt(results.max_score)}` }),
      pct != null ? h("span", { class: "score-pct", text: ` points (${percent(pct)})` }) : " points")
    : h("p", { class: "muted", text: "Your total score appears when every section is submitted." });
  const pending = results.pending_points
    ? h("p", { class: "pending-marking", id: "pending-marking",
      text: `${fmt(results.pending_points)} ${results.pending_points === 1 ? "point is" : "points are"} awaiting marking by your teacher; your score may rise when they are marked.` })
    : null;
  const table = h("table", { class: "score-table" },
    h("caption", { class: "visually-hidden", text: "Score by section" }),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", text: "Section" }),
      h("th", { scope: "col", text: "Score" }),
      h("th", { scope: "col", text: "Correct" }))),
    h("tbody", {}, results.sections.map((s) => h("tr", {},
      h("th", { scope: "row", text: s.title }),
      h("td", { text: s.score != null ? `${fmt(s.score)} / ${fmt(s.max_score)}` : "Not submitted" }),
      h("td", { text: s.score != null ? `${s.correct} of ${s.total}` : "—" }))),
    ));
  return h("section", { class: "block card", attrs: { "aria-labelledby": "score-heading" } },
    h("h2", { id: "score-heading", text: "Score" }), total, pending, table);
}

function answerText(question, answer) {
  if (answer == null || (Array.isArray(answer) && !answer.length) || answer === "") return null;
  if (question.kind === "short_answer" || question.kind === "numeric" || question.kind === "extended_text") return Array.isArray(answer) ? answer.join(" or ") : String(answer);
  const ids = Array.isArray(answer) ? answer : [answer];
  return ids.map((id) => {
    const i = question.choices.findIndex((c) => c.id === id);
    return i >= 0 ? LETTERS[i] : id;
  }).join(", ");
}

function review(sections) {
  const wrapper = h("section", { class: "block", attrs: { "aria-labelledby": "review-heading" } },
    h("h2", { id: "review-heading", text: "Review your answers" }));
  if (!sections.length) {
    wrapper.append(h("p", { class: "muted", text: "No section has been submitted yet." }));
    return wrapper;
  }
  for (const section of sections) {
    wrapper.append(h("h3", { class: "review-section", text: section.title }));
    const list = h("ol", { class: "review-list" });
    (section.questions || []).forEach((question, i) => {
      const answered = answerText(question, question.your_answer) != null;
      // An essay is marked by staff: "awaiting marking" until then, then its points (full marks count as correct).
      const verdict = question.marking === "pending" ? "pending"
        : question.marking === "graded" ? (question.is_correct ? "correct" : "marked")
          : question.is_correct ? "correct" : answered ? "incorrect" : "unanswered";
      const verdictText = question.marking === "graded"
        ? `Marked: ${fmt(question.awarded_points)} of ${fmt(question.points)} points`
        : { correct: "Correct", incorrect: "Incorrect", unanswered: "Not answered", pending: "Awaiting marking" }[verdict];
      const item = h("li", { class: ["review-item", `is-${verdict}`], dataset: { questionId: question.id } },
        h("div", { class: "review-head" },
          h("h4", { text: `Question ${i + 1}` }),
          h("span", { class: ["verdict", `verdict-${verdict}`] },
            icon(verdict === "correct" ? "check" : verdict === "incorrect" ? "cross" : "dot", { size: 16 }), ` ${verdictText}`)),
        h("div", { class: "stem", serverHtml: question.stem }));
      if (question.kind === "extended_text") {
        const yours = h("div", { class: "extended-review" }, h("strong", { text: "Your answer:" }));
        // typed by the student: text only, its line breaks kept by CSS
        yours.append(h("p", { class: "extended-text", text: answerText(question, question.your_answer) ?? "no answer" }));
        item.append(yours);
        if (question.marking === "graded") {
          const mark = h("div", { class: "marker-comment" },
            h("p", {}, h("strong", { text: "Mark: " }), `${fmt(question.awarded_points)} of ${fmt(question.points)} points`));
          if (question.comment) mark.append(h("p", {}, h("strong", { text: "Teacher's comment: " }), document.createTextNode(question.comment)));
          item.append(mark);
        } else if (question.marking === "pending") {
          item.append(h("p", { class: "muted", text: "Awaiting marking: your teacher has not marked this answer yet." }));
        }
      } else if (question.kind === "short_answer" || question.kind === "numeric") {
        const yours = h("p", {}, h("strong", { text: "Your answer: " }));
        yours.append(document.createTextNode(answerText(question, question.your_answer) ?? "no answer")); // typed by the student: text only
        item.append(yours, h("p", {}, h("strong", { text: "Correct answer: " }),
          document.createTextNode(answerText(question, question.correct_answer) ?? "—")));
      } else {
        const yours = new Set(Array.isArray(question.your_answer) ? question.your_answer : question.your_answer ? [question.your_answer] : []);
        const correct = new Set(Array.isArray(question.correct_answer) ? question.correct_answer : [question.correct_answer]);
        const choices = h("ul", { class: "review-choices" });
        question.choices.forEach((choice, j) => {
          const tags = [];
          if (yours.has(choice.id)) tags.push("your answer");
          if (correct.has(choice.id)) tags.push("correct answer");
          choices.append(h("li", { class: ["review-choice", yours.has(choice.id) && "is-yours", correct.has(choice.id) && "is-correct-choice"] },
            h("span", { class: "choice-letter", text: LETTERS[j] }),
            h("span", { class: "choice-text", serverHtml: choice.text }),
            tags.length ? h("span", { class: "choice-tags" },
              correct.has(choice.id) ? icon("check", { size: 14 }) : icon("cross", { size: 14 }), ` ${tags.join(", ")}`) : null));
        });
        item.append(choices);
        if (!yours.size) item.append(h("p", { class: "muted", text: "You did not answer this question." }));
      }
      if (question.explanation) {
        item.append(h("div", { class: "explanation" }, h("strong", { text: "Explanation: " }), h("div", { serverHtml: question.explanation })));
      }
      list.append(item);
    });
    wrapper.append(list);
  }
  return wrapper;
}
