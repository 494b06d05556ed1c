// LTI (admin): the LMSs (platforms) registered with examsync, a form to register one, what to paste into the LMS
// (the tool's URLs and Canvas's JSON, each with a copy button), and the tool's signing key with its rotation.
// docs/lti.md says where each value goes in Canvas and Moodle.

import { h } from "../../dom.js";
import { request, API } from "../../api.js";
import { explain } from "./api.js";
import { page, busy, scrollTable } from "./layout.js";

const ltiApi = {
  platforms: () => request("GET", `${API}/lti/platforms`),
  addPlatform: (body) => request("POST", `${API}/lti/platforms`, body),
  toolConfig: () => request("GET", `${API}/lti/tool-config`),
  rotateKey: () => request("POST", `${API}/lti/keys/rotate`),
  jwks: () => request("GET", "/lti/jwks", undefined, { auth: false }),
};

// The registration's fields, as the API names them, with what the LMS calls them (Canvas / Moodle).
const FIELDS = [
  ["issuer", "Issuer", "Canvas: https://canvas.instructure.com. Moodle: its Platform ID."],
  ["client_id", "Client ID", "Canvas: the developer key's number. Moodle: the tool's Client ID."],
  ["deployment_ids", "Deployment IDs", "One or more, separated by spaces or new lines."],
  ["auth_login_url", "Authentication request URL", "The LMS's OIDC login (authorization) URL."],
  ["auth_token_url", "Access token URL", "The LMS's OAuth2 token URL, for grades and rosters."],
  ["jwks_url", "Public keyset URL", "The LMS's public keys (JWKS)."],
];

// The tool's configuration, in the order an LMS asks for it.
const CONFIG = [
  ["oidc_initiation_url", "Login initiation URL"],
  ["target_link_uri", "Target link (launch) URL"],
  ["redirect_uris", "Redirect URL"],
  ["jwks_uri", "Public keyset (JWKS) URL"],
  ["deep_linking_url", "Deep linking URL"],
];

export function mount(root, ctx) {
  const view = page({ ctx, root, section: "lti", title: "LTI", wide: true });
  const me = ctx.user() || {};
  if (me.role !== "admin") {
    view.say("Only an admin connects examsync to an LMS.");
    view.ready();
    return () => {};
  }
  let disposed = false;
  const platforms = h("div", { id: "lti-platforms" });
  const config = h("div", { id: "lti-tool-config" });
  const keys = h("div", { id: "lti-keys" });

  const loadPlatforms = () => ltiApi.platforms().then((list) => {
    if (!disposed) platforms.replaceChildren(platformTable(list));
  });
  view.body.append(
    h("section", { class: "block", attrs: { "aria-labelledby": "lti-config-heading" } },
      h("h2", { id: "lti-config-heading", text: "What to paste into the LMS" }),
      h("p", { class: "hint", text: "Canvas: paste the JSON into a new LTI developer key. Moodle and others: the URLs, in a tool configured manually. Then register the LMS below with what it shows." }),
      config),
    registerForm(view, loadPlatforms),
    h("section", { class: "block", attrs: { "aria-labelledby": "lti-platforms-heading" } },
      h("h2", { id: "lti-platforms-heading", text: "Registered platforms" }), platforms),
    h("section", { class: "block", attrs: { "aria-labelledby": "lti-keys-heading" } },
      h("h2", { id: "lti-keys-heading", text: "The tool's signing key" }), keys));

  Promise.all([ltiApi.toolConfig(), loadPlatforms(), ltiApi.jwks()]).then(([tool, , jwks]) => {
    if (disposed) return;
    config.replaceChildren(...toolConfig(tool));
    keys.replaceChildren(...keyPanel(view, jwks.keys.map((k) => k.kid)));
    view.ready();
  }, (error) => {
    if (!disposed) view.fail(error, "The LTI settings could not load");
  });
  return () => {
    disposed = true;
  };
}

function platformTable(list) {
  if (!list.length) return h("p", { class: "muted", text: "No LMS is registered yet: launches are refused and nothing may frame examsync." });
  return scrollTable("Registered platforms", h("table", { class: "data-table", id: "lti-platform-table" },
    h("thead", {}, h("tr", {}, ["Issuer", "Client ID", "Deployments", "URLs"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, list.map((p) => h("tr", { dataset: { platformId: p.id } },
      h("th", { scope: "row", text: p.issuer }),
      h("td", { text: p.client_id }),
      h("td", { text: p.deployment_ids.join(", ") }),
      h("td", {}, [["Login", p.auth_login_url], ["Token", p.auth_token_url], ["Keys", p.jwks_url]].map(([name, url]) =>
        h("span", { class: "cell-sub", text: `${name}: ${url}` }))))))));
}

function registerForm(view, reload) {
  const controls = {};
  const errors = {};
  const rows = FIELDS.map(([name, label, hint]) => {
    const id = `lti-${name.replaceAll("_", "-")}`;
    const control = name === "deployment_ids"
      ? h("textarea", { id, rows: 2, autocomplete: "off", spellcheck: false })
      : h("input", { id, type: "text", autocomplete: "off", spellcheck: false, maxLength: name.endsWith("url") ? 2000 : 255,
        attrs: { inputmode: name.endsWith("url") ? "url" : null } });
    const error = h("p", { class: "form-error", id: `${id}-error`, attrs: { role: "alert" } });
    control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
    controls[name] = control;
    errors[name] = error;
    return h("div", { class: "field", dataset: { field: name } },
      h("label", { for: id, text: label }), control, h("p", { class: "hint", id: `${id}-hint`, text: hint }), error);
  });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const save = h("button", { type: "submit", id: "lti-register", class: "button button-primary", text: "Register platform" });
  const form = h("form", { class: "card", id: "lti-register-form", attrs: { novalidate: true, "aria-labelledby": "lti-register-heading" } },
    h("h2", { id: "lti-register-heading", text: "Register an LMS" }),
    h("div", { class: "field-row" }, rows.slice(0, 3)), h("div", { class: "field-row" }, rows.slice(3)),
    error, h("div", { class: "actions" }, save));

  const showFieldErrors = (problems) => {
    for (const [name, control] of Object.entries(controls)) {
      const problem = problems[name];
      errors[name].textContent = problem || "";
      if (problem) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    const first = FIELDS.find(([name]) => problems[name]);
    if (first) controls[first[0]].focus();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    for (const [name] of FIELDS) body[name] = controls[name].value.trim();
    body.deployment_ids = body.deployment_ids.split(/[\s,]+/).filter(Boolean);
    const missing = {};
    for (const [name, label] of FIELDS) if (!body[name].length) missing[name] = `Give the ${label.toLowerCase()}.`;
    showFieldErrors(missing);
    if (Object.keys(missing).length) return;
    busy(save, null, async () => {
      error.textContent = "";
      try {
        const platform = await ltiApi.addPlatform(body);
        form.reset();
        view.say(`${platform.issuer} is registered, with deployment${platform.deployment_ids.length > 1 ? "s" : ""} ${platform.deployment_ids.join(", ")}.`);
        await reload();
      } catch (err) {
        const problems = fieldProblems(err);
        showFieldErrors(problems);
        if (!Object.keys(problems).length && err.status !== 401) error.textContent = explain(err);
      }
    });
  });
  return form;
}

/** The API's complaints by field: a domain error names one `field`, a refused body lists `problems`. */
export function fieldProblems(error) {
  const data = error.data || {};
  const out = {};
  const fieldOf = (name) => {
    const base = String(name || "").split(".")[0];
    return base === "deployment_id" ? "deployment_ids" : base;
  };
  if (data.field && FIELDS.some(([name]) => name === fieldOf(data.field))) out[fieldOf(data.field)] = error.message;
  for (const problem of data.problems || []) {
    const name = fieldOf(problem.field);
    if (FIELDS.some(([f]) => f === name) && !out[name]) out[name] = problem.problem;
  }
  return out;
}

function copyButton(label, text) {
  const done = h("span", { class: "copy-done", attrs: { role: "status" } });
  const button = h("button", { type: "button", class: "button button-small button-secondary", text: "Copy",
    attrs: { "aria-label": `Copy the ${label}` } });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      done.textContent = "Copied";
    } catch {
      done.textContent = "Select the text and copy it";
    }
    setTimeout(() => (done.textContent = ""), 4000);
  });
  return [button, done];
}

function toolConfig(tool) {
  const rows = CONFIG.map(([key, label]) => {
    const value = Array.isArray(tool[key]) ? tool[key].join("\n") : tool[key];
    const id = `lti-config-${key.replaceAll("_", "-")}`;
    return h("div", { class: "copy-row", dataset: { config: key } },
      h("label", { for: id, text: label }),
      h("input", { id, type: "text", readOnly: true, value, spellcheck: false }),
      copyButton(label, value));
  });
  const json = JSON.stringify(tool.canvas, null, 2);
  return [
    h("div", { class: "copy-rows" }, rows),
    h("div", { class: "copy-json" },
      h("h3", { id: "lti-canvas-heading", text: "Canvas JSON (Developer Keys › LTI Key › Paste JSON)" }),
      h("pre", { id: "lti-canvas-json", tabIndex: 0, text: json, attrs: { "aria-labelledby": "lti-canvas-heading" } }),
      h("div", { class: "actions" }, copyButton("Canvas JSON", json))),
  ];
}

function keyPanel(view, kids) {
  const list = h("p", { id: "lti-key-list" });
  const show = (published) => {
    const [signing, ...older] = published;
    list.replaceChildren("Signing now: ", h("code", { text: signing }),
      older.length ? ` (still published for launches in flight: ${older.join(", ")})` : "");
  };
  show(kids);
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const rotate = h("button", { type: "button", id: "lti-rotate-key", class: "button button-secondary", text: "Rotate the key" });
  rotate.addEventListener("click", () => busy(rotate, error, async () => {
    const answer = await ltiApi.rotateKey();
    show(answer.published);
    view.say(`The tool signs with a new key (${answer.kid}); the previous one stays published for a week.`);
  }));
  return [h("p", { class: "hint", text: "The LMS reads the tool's public keys from the JWKS URL. Rotate the key if it may have leaked: the previous one stays published for a week, so nothing in flight breaks." }),
    list, error, h("div", { class: "actions" }, rotate)];
}
