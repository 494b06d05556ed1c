// The calls the content page and the test editor make: drafts, imports (multipart), exports, the staff test list.

import { API, ApiError, getToken, request } from "../../api.js";

const enc = encodeURIComponent;

export const contentApi = {
  tests: () => request("GET", `${API}/content/tests`),
  drafts: () => request("GET", `${API}/drafts`),
  createDraft: (testId = null) => request("POST", `${API}/drafts`, testId ? { test_id: testId } : {}),
  draft: (id) => request("GET", `${API}/drafts/${enc(id)}`),
  saveDraft: (id, version, document) => request("PUT", `${API}/drafts/${enc(id)}`, { version, document }),
  publish: (id) => request("POST", `${API}/drafts/${enc(id)}/publish`, undefined, { timeoutMs: 60000 }),
  deleteDraft: (id) => request("DELETE", `${API}/drafts/${enc(id)}`),
  /** Admins: put a test in the catalogue or take it out ({in_catalogue}), open it for self-study or not ({self_study}). */
  updateTest: (id, changes) => request("PATCH", `${API}/tests/${enc(id)}`, changes),
  share: (id, userId) => request("PUT", `${API}/tests/${enc(id)}/shares/${enc(userId)}`),
  /** Admins only: the staff accounts a test can be shared with. */
  staff: async () => {
    const [teachers, admins] = await Promise.all(["teacher", "admin"].map((role) =>
      request("GET", `${API}/users?role=${role}&limit=500`)));
    return [...teachers, ...admins].filter((u) => !u.disabled);
  },
  /** Upload files (and options) to the import; dry_run true writes nothing and says what would change. */
  importFiles: (files, { dryRun }) => send("POST", `${API}/content/imports`, form(files, dryRun)),
  /** The test as a file (qti3 or yaml), saved by the browser. */
  async exportTest(testId, format) {
    const response = await raw("GET", `${API}/tests/${enc(testId)}/export?format=${enc(format)}`);
    const blob = await response.blob();
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name ? name[1] : `test.${format === "yaml" ? "yaml" : "zip"}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  },
};

function form(files, dryRun) {
  const body = new FormData();
  for (const file of files) body.append("file", file, file.name);
  body.append("dry_run", dryRun ? "true" : "false");
  return body;
}

async function raw(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method, body, cache: "no-store", credentials: "same-origin",
      headers: { Authorization: `Bearer ${getToken()}`, Accept: "application/json" },
    });
  } catch {
    throw new ApiError({ status: 0, code: "network_error", message: "the server cannot be reached", network: true });
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    const { code, message, ...data } = (payload && payload.error) || {};
    throw new ApiError({ status: response.status, code: code || "http_error",
      message: message || `the server answered ${response.status}`, data });
  }
  return response;
}

async function send(method, path, body) {
  return (await raw(method, path, body)).json();
}

/** A short sentence for an error, for the page. */
export function explainError(error) {
  if (!error) return "";
  if (error.network) return "the server cannot be reached; check the connection";
  return error.message || String(error);
}
