// Staff ops: each is sent once with a fresh op_id and written to the student's
// session log with the staff member's id.

import { staffApi, opId } from "./api.js";

const OUTCOME = {
  session_completed: "This session is already submitted.",
  already_paused: "This session is already paused.",
  not_paused: "This session is not paused.",
  already_reopened: "This section was already reopened once.",
  section_not_submitted: "This section is not submitted, so there is nothing to reopen.",
  section_in_progress: "Another section is in progress: finish or submit it first.",
  marks_already_released: "This student's marks are released already.",
};

/** Send one staff op; resolves with its result, or throws an Error whose message says why it was refused. */
export async function sendStaffOp(sessionId, type, fields = {}) {
  const op = { op_id: opId(), type, ...fields };
  const outcome = await staffApi.staffOps(sessionId, [op]);
  const result = (outcome.results || [])[0] || {};
  if (result.status === "rejected") {
    const error = new Error(OUTCOME[result.code] || result.message || result.code || "refused");
    error.code = result.code;
    throw error;
  }
  return result;
}
