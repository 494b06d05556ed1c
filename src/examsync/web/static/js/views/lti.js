// An LTI launch signing in: the launch redirected here with a one-time code in the URL's fragment (#/lti/<code>),
// which is exchanged for the app's token; no cookie is involved, so this works inside an LMS's frame. Inside a frame
// the token is kept in sessionStorage (api.js), never in a cookie.
//
// A browser that gives a framed page no storage would lose unsent answers on a reload: there the code is not
// spent, and the student is offered the same link in a new window instead (a top-level page has its storage).

import { h } from "../dom.js";

function framed() {
  try {
    return window.top !== window.self;
  } catch {
    return true; // a cross-origin parent: framed
  }
}

function storageWorks(store) {
  try {
    for (const storage of [sessionStorage, localStorage]) {
      storage.setItem("examsync.probe", "1");
      storage.removeItem("examsync.probe");
    }
  } catch {
    return false;
  }
  return !store.volatile;
}

/** Sign in with the code; resolves to the route to open, or null when the page shows what to do instead. */
export async function signInFromLaunch(root, code, { api, store, setToken, setCachedUser }) {
  document.body.dataset.view = "lti";
  if (framed() && !storageWorks(store)) {
    const link = h("a", { class: "button button-primary", text: "Open examsync in a new window",
      attrs: { href: `/#/lti/${encodeURIComponent(code)}`, target: "_blank", rel: "noopener", id: "lti-new-window" } });
    root.replaceChildren(h("h1", { text: "Open your test in a new window" }),
      h("p", { text: "This browser does not let examsync keep your answers on this device inside the course page." }),
      h("p", {}, link));
    document.body.dataset.ready = "1";
    return null;
  }
  root.replaceChildren(h("p", { class: "loading", text: "Signing in…" }));
  try {
    const answer = await api.ltiHandoff(code);
    // Framed: the token is the LMS tab's (sessionStorage); top-level, it is kept like a password login's.
    setToken(answer.access_token, { tab: framed() });
    setCachedUser(answer.user);
    return answer.landing;
  } catch (error) {
    root.replaceChildren(h("h1", { text: "examsync could not sign you in" }),
      h("p", { class: "lti-error", text: error.message }), h("p", { text: "Open the test again from your course." }));
    document.body.dataset.ready = "1";
    return null;
  }
}
