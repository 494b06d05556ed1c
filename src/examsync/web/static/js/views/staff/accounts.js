// Accounts (admin): find accounts by role and name or email, create one,
// change a role, disable or enable an account.

import { h } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, field, busy, scrollTable } from "./layout.js";

const ROLES = ["student", "teacher", "admin"];

export function mount(root, ctx) {
  const view = page({ ctx, root, section: "accounts", title: "Accounts", wide: true });
  const me = ctx.user() || {};
  if (me.role !== "admin") {
    view.say("Only an admin manages accounts.");
    view.ready();
    return () => {};
  }
  let disposed = false;
  const results = h("div", { id: "account-results" });

  const roleFilter = h("select", { id: "filter-role" }, h("option", { value: "", text: "All roles" }),
    ROLES.map((r) => h("option", { value: r, text: r })));
  const q = h("input", { id: "filter-q", type: "search", autocomplete: "off", maxLength: 200 });
  const search = h("button", { type: "submit", class: "button button-secondary", text: "Find" });
  const filterForm = h("form", { class: "filter-form", attrs: { role: "search", "aria-label": "Find accounts" } },
    field("Role", roleFilter), field("Name or email", q), h("div", { class: "actions" }, search));

  const load = async () => {
    try {
      const users = await staffApi.users({ role: roleFilter.value, q: q.value.trim() });
      if (disposed) return;
      results.replaceChildren(users.length ? table(users, me, view) : h("p", { class: "muted", text: "No account matches." }));
      view.ready();
    } catch (error) {
      if (!disposed) view.fail(error, "The accounts could not load");
    }
  };
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });

  view.body.append(createForm(view, load),
    h("section", { class: "block", attrs: { "aria-labelledby": "accounts-list-heading" } },
      h("h2", { id: "accounts-list-heading", text: "Find accounts" }), filterForm, results));
  load();
  return () => {
    disposed = true;
  };
}

function createForm(view, reload) {
  const email = h("input", { id: "new-email", type: "email", required: true, autocomplete: "off" });
  const name = h("input", { id: "new-name", type: "text", autocomplete: "off", maxLength: 200 });
  const password = h("input", { id: "new-password", type: "password", required: true, autocomplete: "new-password", minLength: 8 });
  const role = h("select", { id: "new-role" }, ROLES.map((r) => h("option", { value: r, text: r, selected: r === "teacher" })));
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const create = h("button", { type: "submit", id: "create-account", class: "button button-primary", text: "Create account" });
  const form = h("form", { class: "card", attrs: { novalidate: true, "aria-labelledby": "new-account-heading" } },
    h("h2", { id: "new-account-heading", text: "New account" }),
    h("div", { class: "field-row" }, field("Email", email), field("Name", name)),
    h("div", { class: "field-row" }, field("Password", password, "At least 8 characters; they can change it later."), field("Role", role)),
    error, h("div", { class: "actions" }, create));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      error.textContent = "Give an email and a password.";
      return;
    }
    busy(create, error, async () => {
      const user = await staffApi.createUser({ email: email.value.trim(), password: password.value, display_name: name.value.trim(), role: role.value });
      view.say(`Account created for ${user.email} (${user.role}).`);
      form.reset();
      role.value = "teacher";
      reload();
    });
  });
  return form;
}

function table(users, me, view) {
  return scrollTable("Accounts", h("table", { class: "data-table", id: "accounts-table" },
    h("thead", {}, h("tr", {}, ["Account", "Role", "State", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, users.map((u) => accountRow(u, me, view)))));
}

function accountRow(user, me, view) {
  const who = user.display_name || user.email;
  const self = user.user_id === me.user_id;
  const role = h("select", { disabled: self, attrs: { "aria-label": `Role of ${who}` } },
    ROLES.map((r) => h("option", { value: r, text: r, selected: r === user.role })));
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const state = h("td", { text: user.disabled ? "Disabled" : "Active" });
  const toggle = h("button", { type: "button", class: "button button-small button-quiet", disabled: self,
    text: user.disabled ? "Enable" : "Disable", attrs: { "aria-label": `${user.disabled ? "Enable" : "Disable"} ${who}` } });
  role.addEventListener("change", () => busy(role, error, async () => {
    const updated = await staffApi.updateUser(user.user_id, { role: role.value });
    user.role = updated.role;
    view.say(`${who} is now ${updated.role}.`);
  }).then(() => (role.value = user.role)));
  toggle.addEventListener("click", () => busy(toggle, error, async () => {
    const updated = await staffApi.updateUser(user.user_id, { disabled: !user.disabled });
    user.disabled = updated.disabled;
    state.textContent = user.disabled ? "Disabled" : "Active";
    toggle.textContent = user.disabled ? "Enable" : "Disable";
    toggle.setAttribute("aria-label", `${user.disabled ? "Enable" : "Disable"} ${who}`);
    view.say(user.disabled ? `${who} is disabled: their sign-ins and open connections have ended.` : `${who} can sign in again.`);
  }));
  return h("tr", { dataset: { userId: user.user_id } },
    h("th", { scope: "row" }, h("span", { class: "cell-name", text: who }), h("span", { class: "cell-sub", text: user.email })),
    h("td", {}, role),
    state,
    h("td", {}, toggle, error));
}
