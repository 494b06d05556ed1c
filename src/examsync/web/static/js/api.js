// The server's HTTP API, as small async functions.
//
// Every failure is thrown as an ApiError: `status` is the HTTP status (0 when
// the server could not be reached at all), `code` and `message` come from the
// server's error body {"error": {"code", "message", ...}}, and `network` is
// true only for "could not reach the server" (retry the same request later),
// never for an answer the server gave.

import { deviceToken, setDeviceToken } from "./prefs.js";

export const API = "/api/v1";
const TOKEN_KEY = "examsync.token";

export class ApiError extends Error {
  constructor({ status, code, message, data = {}, network = false }) {
    super(message || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.data = data;
    this.network = network;
  }
}

let onUnauthorized = () => {};

/** Called on every 401 (the page sends the student to the login screen). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

// Kept in memory too: inside an LMS's frame a browser may refuse the page any storage (an LTI launch still signs in).
// A launch inside a frame keeps its token in sessionStorage (the LMS tab's, partitioned under the LMS's site): it
// survives reloads of the frame and ends with the tab, so the next person at a shared computer never inherits it.
let memoryToken = null;

// Reading a storage property may itself throw (storage blocked in a frame): every access is guarded.
function stored(name) {
  try {
    return globalThis[name].getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken() {
  return stored("sessionStorage") || stored("localStorage") || memoryToken;
}

/** Keep the login's token; `{tab: true}` for this tab only (sessionStorage), otherwise for this browser. */
export function setToken(token, { tab = false } = {}) {
  memoryToken = token || null;
  for (const [name, keep] of [["sessionStorage", tab], ["localStorage", !tab]]) {
    try {
      if (token && keep) globalThis[name].setItem(TOKEN_KEY, token);
      else globalThis[name].removeItem(TOKEN_KEY);
    } catch {
      // storage refused (a framed page in some browsers): the token lives as long as the page
    }
  }
}

export async function request(method, path, body = undefined, { auth = true, timeoutMs = 20000 } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
      signal: controller.signal,
    });
  } catch (error) {
    throw new ApiError({
      status: 0,
      code: "network_error",
      message: error && error.name === "AbortError" ? "the server did not answer in time" : "the server cannot be reached",
      network: true,
    });
  } finally {
    clearTimeout(timer);
  }
  let payload = null;
  const text = await response.text().catch(() => "");
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (!response.ok) {
    const detail = (payload && payload.error) || {};
    const { code, message, ...data } = detail;
    const error = new ApiError({
      status: response.status,
      code: code || (response.status >= 500 ? "internal_error" : "http_error"),
      message: message || `the server answered ${response.status}`,
      data,
    });
    if (response.status === 401 && auth) onUnauthorized(error);
    throw error;
  }
  return payload;
}

const enc = encodeURIComponent;

/** The body of a login: with the device token this browser holds for the email, if any. */
export function loginBody(email, password, token) {
  return token ? { email, password, device_token: token } : { email, password };
}

/** Log in, sending this browser's device token for the email and keeping the one that comes back. */
async function login(email, password) {
  const issued = await request("POST", `${API}/auth/token`, loginBody(email, password, deviceToken(email)), {
    auth: false,
  });
  setDeviceToken(email, issued.device_token);
  return issued;
}

export const api = {
  signup: (email, password, displayName = "") =>
    request("POST", `${API}/auth/signup`, { email, password, display_name: displayName }, { auth: false }),
  login,
  me: () => request("GET", `${API}/me`),
  tests: () => request("GET", `${API}/tests`),
  sessions: () => request("GET", `${API}/sessions`),
  start: (testId, { untimed = false, timeMultiplier = 1 } = {}) =>
    request("POST", `${API}/sessions`, { test_id: testId, untimed, time_multiplier: timeMultiplier }),
  resume: (sessionId) => request("GET", `${API}/sessions/${enc(sessionId)}`),
  postOps: (sessionId, body) => request("POST", `${API}/sessions/${enc(sessionId)}/ops`, body),
  results: (sessionId) => request("GET", `${API}/sessions/${enc(sessionId)}/results`),
  performance: () => request("GET", `${API}/me/performance`),
  offlineKey: () => request("GET", `${API}/offline-key`, undefined, { auth: false }),
  /** An LTI launch's one-time code for an access token and the page to open (docs/lti.md). */
  ltiHandoff: (code) => request("POST", `${API}/lti/handoff`, { code }, { auth: false }),
};
