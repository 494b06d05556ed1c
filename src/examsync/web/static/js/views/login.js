// Log in, or create an account: one form, two buttons.

import { h } from "../dom.js";
import { setToken } from "../api.js";

export function mount(root, ctx) {
  document.title = "Log in — examsync";
  const error = h("p", { id: "auth-error", class: "form-error", attrs: { role: "alert" } });
  const email = h("input", { id: "auth-email", type: "email", name: "email", autocomplete: "username", required: true, spellcheck: false });
  const password = h("input", {
    id: "auth-password", type: "password", name: "password", autocomplete: "current-password", required: true,
    attrs: { "aria-describedby": "password-hint" },
  });
  const name = h("input", { id: "auth-name", type: "text", name: "display_name", autocomplete: "name", attrs: { "aria-describedby": "name-hint" } });
  const heading = h("h1", { id: "auth-heading", text: "Log in to examsync", attrs: { tabindex: "-1" } });
  const loginButton = h("button", { type: "submit", id: "login-button", class: "button button-primary", text: "Log in" });
  const signupButton = h("button", { type: "button", id: "signup-button", class: "button button-secondary", text: "Create account" });

  const form = h("form", { class: "auth-form", attrs: { novalidate: true, "aria-labelledby": "auth-heading" } },
    h("div", { class: "field" }, h("label", { for: "auth-email", text: "Email" }), email),
    h("div", { class: "field" },
      h("label", { for: "auth-password", text: "Password" }), password,
      h("p", { class: "hint", id: "password-hint", text: "A new account needs at least 8 characters." })),
    h("div", { class: "field" },
      h("label", { for: "auth-name", text: "Your name" }), name,
      h("p", { class: "hint", id: "name-hint", text: "Only needed when you create an account." })),
    error,
    h("div", { class: "actions" }, loginButton, signupButton),
  );
  const message = ctx.loginMessage();
  root.append(h("section", { class: "card auth" },
    heading,
    h("p", { class: "lede", text: "Your answers are saved as you go, even when the connection drops." }),
    message ? h("p", { class: "callout", text: message }) : null,
    form,
    h("p", { class: "hint", text: "Demo account: demo@examsync.local, password examsync-demo." }),
  ));

  const busy = (on) => {
    loginButton.disabled = on;
    signupButton.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  };

  const explain = (err) => {
    if (err.network) return "The server cannot be reached. Check your connection and try again.";
    if (err.code === "invalid_credentials") return "That email and password do not match an account.";
    if (err.code === "email_taken") return "An account with this email already exists. Log in instead.";
    if (err.code === "weak_password") return `Choose another password: ${err.message || "it is too weak"}.`;
    return err.message || "Something went wrong. Try again.";
  };

  const submit = async (signup) => {
    error.textContent = "";
    if (!email.value.trim() || !password.value) {
      error.textContent = "Enter your email and password.";
      (email.value.trim() ? password : email).focus();
      return;
    }
    busy(true);
    try {
      if (signup) await ctx.api.signup(email.value.trim(), password.value, name.value.trim());
      const token = await ctx.api.login(email.value.trim(), password.value);
      setToken(token.access_token);
      await ctx.loggedIn();
      ctx.navigate("#/dashboard");
    } catch (err) {
      error.textContent = explain(err);
      busy(false);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(false);
  });
  signupButton.addEventListener("click", () => submit(true));

  document.body.dataset.ready = "1";
  return () => {};
}
