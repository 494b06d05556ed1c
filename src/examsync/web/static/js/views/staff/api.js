// The staff side of the HTTP API (classes, assignments, rosters, staff ops,
// reports, accounts), as small async functions over api.js's request().

import { API, request, getToken, ApiError } from "../../api.js";

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}

export const staffApi = {
  classes: () => request("GET", `${API}/classes`),
  klass: (id) => request("GET", `${API}/classes/${enc(id)}`),
  createClass: (name) => request("POST", `${API}/classes`, { name }),
  renameClass: (id, name) => request("PATCH", `${API}/classes/${enc(id)}`, { name }),
  rotateCode: (id) => request("POST", `${API}/classes/${enc(id)}/join-code`),
  students: (id) => request("GET", `${API}/classes/${enc(id)}/students`),
  removeStudent: (id, userId) => request("DELETE", `${API}/classes/${enc(id)}/students/${enc(userId)}`),
  setUserTime: (userId, body) => request("PUT", `${API}/users/${enc(userId)}/time`, body),
  gradebook: (id) => request("GET", `${API}/classes/${enc(id)}/gradebook`),

  tests: () => request("GET", `${API}/tests`),
  assignments: () => request("GET", `${API}/assignments`),
  assignment: (id) => request("GET", `${API}/assignments/${enc(id)}`),
  createAssignment: (classId, body) => request("POST", `${API}/classes/${enc(classId)}/assignments`, body),
  updateAssignment: (id, body) => request("PATCH", `${API}/assignments/${enc(id)}`, body),
  deleteAssignment: (id) => request("DELETE", `${API}/assignments/${enc(id)}`),
  putOverride: (id, userId, body) => request("PUT", `${API}/assignments/${enc(id)}/students/${enc(userId)}`, body),
  deleteOverride: (id, userId) => request("DELETE", `${API}/assignments/${enc(id)}/students/${enc(userId)}`),
  roster: (id) => request("GET", `${API}/assignments/${enc(id)}/roster`),
  results: (id) => request("GET", `${API}/assignments/${enc(id)}/results`),
  items: (id) => request("GET", `${API}/assignments/${enc(id)}/items`),
  releaseMarks: (id) => request("POST", `${API}/assignments/${enc(id)}/release-marks`),

  staffOps: (sessionId, ops) => request("POST", `${API}/sessions/${enc(sessionId)}/staff-ops`, { ops }),
  replay: (sessionId) => request("GET", `${API}/sessions/${enc(sessionId)}/replay`),
  session: (sessionId) => request("GET", `${API}/sessions/${enc(sessionId)}`),
  sessionResults: (sessionId) => request("GET", `${API}/sessions/${enc(sessionId)}/results`),

  users: (filters = {}) => request("GET", `${API}/users${query(filters)}`),
  createUser: (body) => request("POST", `${API}/users`, body),
  updateUser: (id, body) => request("PATCH", `${API}/users/${enc(id)}`, body),
};

/** A fresh op id for a staff op (the server applies each exactly once). */
export function opId() {
  return crypto.randomUUID();
}

/** ws:// or wss:// URL of an assignment's proctor socket. */
export function rosterSocketUrl(assignmentId, afterSeq) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams();
  if (afterSeq) q.set("after_seq", String(afterSeq));
  const token = getToken();
  if (token) q.set("token", token);
  return `${scheme}//${location.host}${API}/assignments/${enc(assignmentId)}/live?${q}`;
}

/** Fetch a file with the login's token and hand it to the browser as a download. */
export async function download(path, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${getToken()}` }, cache: "no-store" })
    .catch(() => { throw new ApiError({ status: 0, code: "network_error", message: "the server cannot be reached", network: true }); });
  if (!response.ok) throw new ApiError({ status: response.status, code: "http_error", message: `the server answered ${response.status}` });
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The message to show for a failed request. */
export function explain(error) {
  if (error.network) return "The server cannot be reached. Check the connection and try again.";
  return error.message || "Something went wrong. Try again.";
}
