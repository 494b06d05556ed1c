// The student's actions on the question screen, as ops: choosing, crossing
// out, flagging, and typed text (an answer or a note), which is saved after a
// pause in typing, on leaving the field, and before anything else happens.

import { answerWithChoice, canonicalAnswer, findQuestion, isChosen, questionStatus } from "../../state.js";

const ANSWER_DEBOUNCE_MS = 500;
const NOTE_DEBOUNCE_MS = 800;
const same = (a, b) => JSON.stringify(canonicalAnswer(a)) === JSON.stringify(canonicalAnswer(b));

/**
 * controller: makes the ops; current(): {section, question} on screen or null;
 * locked(): the section's time is up here, or staff paused the test; held(): staff paused the test (text
 * being typed is kept as a draft, and saved once the test is resumed); updated(): show the new state.
 */
export function createActions({ controller, current, locked, held = () => false, updated }) {
  const drafts = { answer: null, note: null }; // {questionId, value, timer}

  function choose(choiceId, checked) {
    const q = current();
    if (!q || locked()) return updated();
    const st = questionStatus(q.section, q.question.id);
    const answer = answerWithChoice(q.question.kind, st.answer, choiceId, checked);
    if (checked && st.eliminated.includes(choiceId)) controller.act("uneliminate", { question_id: q.question.id, choice_id: choiceId });
    if (!same(answer, st.answer)) controller.act("answer", { question_id: q.question.id, answer });
    updated();
  }

  function toggleEliminate(choiceId) {
    const q = current();
    if (!q || locked()) return;
    const st = questionStatus(q.section, q.question.id);
    if (st.eliminated.includes(choiceId)) {
      controller.act("uneliminate", { question_id: q.question.id, choice_id: choiceId });
    } else {
      controller.act("eliminate", { question_id: q.question.id, choice_id: choiceId });
      if (isChosen(st.answer, choiceId)) {
        // A crossed-out choice is not an answer (as in Bluebook and TAO).
        controller.act("answer", { question_id: q.question.id, answer: answerWithChoice(q.question.kind, st.answer, choiceId, false) });
      }
    }
    updated();
  }

  function toggleFlag() {
    const q = current();
    if (!q || locked()) return;
    controller.act(questionStatus(q.section, q.question.id).flagged ? "unflag" : "flag", { question_id: q.question.id });
    updated();
  }

  function draft(kind, value, delay) {
    const q = current();
    if (!q) return;
    if (drafts[kind]) clearTimeout(drafts[kind].timer);
    drafts[kind] = { questionId: q.question.id, value, timer: setTimeout(() => commit(kind), delay) };
  }

  function commit(kind) {
    const d = drafts[kind];
    if (!d) return;
    clearTimeout(d.timer);
    if (held()) return; // kept, and still shown as typed: saved by the flush that follows the resume
    drafts[kind] = null;
    const found = controller.model && findQuestion(controller.model, d.questionId);
    if (!found || locked()) return;
    if (kind === "answer") {
      const answer = canonicalAnswer(d.value);
      if (!same(found.section.answers[d.questionId], answer)) {
        controller.act("answer", { question_id: d.questionId, answer: answer == null ? null : d.value });
      }
    } else if ((found.section.notes[d.questionId] || "") !== d.value) {
      controller.act("note", { question_id: d.questionId, text: d.value });
    }
    updated();
  }

  return {
    choose,
    toggleFlag,
    /** A shortcut key's choice (1–9, A–D): multiple choice toggles it, single choice takes it. */
    chooseByIndex(index) {
      const q = current();
      const choice = q && q.question.choices[index];
      if (!choice) return;
      const st = questionStatus(q.section, q.question.id);
      choose(choice.id, q.question.kind === "multiple_choice" ? !isChosen(st.answer, choice.id) : true);
    },
    flushDrafts() {
      commit("answer");
      commit("note");
    },
    /** Is text being typed (not to be overwritten by what the model says)? */
    typing: () => ({ answer: Boolean(drafts.answer), note: Boolean(drafts.note) }),
    handlers: {
      choose,
      eliminate: toggleEliminate,
      flag: toggleFlag,
      draftAnswer: (value) => draft("answer", value, ANSWER_DEBOUNCE_MS),
      commitAnswer: () => commit("answer"),
      draftNote: (value) => draft("note", value, NOTE_DEBOUNCE_MS),
      commitNote: () => commit("note"),
    },
  };
}
