// Classes: the teacher's classes, and a form to create one.

import { h, plural } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, field, busy } from "./layout.js";

export function mount(root, ctx) {
  const view = page({ ctx, root, section: "classes", title: "Classes" });
  let disposed = false;
  const name = h("input", { id: "class-name", type: "text", required: true, maxLength: 200, autocomplete: "off" });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const create = h("button", { type: "submit", id: "create-class", class: "button button-primary", text: "Create class" });
  const form = h("form", { class: "card inline-form", attrs: { novalidate: true, "aria-labelledby": "new-class-heading" } },
    h("h2", { id: "new-class-heading", text: "New class" }),
    field("Class name", name, "Students join it with the code it gets."), error, h("div", { class: "actions" }, create));
  const list = h("div");
  view.body.append(form, h("section", { class: "block", attrs: { "aria-labelledby": "class-list-heading" } },
    h("h2", { id: "class-list-heading", text: "Your classes" }), list));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      error.textContent = "Give the class a name.";
      name.focus();
      return;
    }
    busy(create, error, async () => {
      const created = await staffApi.createClass(name.value.trim());
      ctx.navigate(`#/staff/classes/${encodeURIComponent(created.id)}`);
    });
  });

  staffApi.classes().then((classes) => {
    if (disposed) return;
    list.replaceChildren(classes.length
      ? h("ul", { class: "session-list", id: "class-list" }, classes.map((c) => h("li", { class: "session-item", dataset: { classId: c.id } },
        h("h3", {}, h("a", { href: `#/staff/classes/${encodeURIComponent(c.id)}`, text: c.name })),
        h("ul", { class: "facts" },
          h("li", { text: plural(c.student_count || 0, "student") }),
          h("li", {}, "Join code ", h("strong", { class: "join-code", text: c.join_code }))))))
      : h("p", { class: "muted", text: "You have no class yet." }));
    view.ready();
  }, (err) => view.fail(err, "Your classes could not load"));
  return () => {
    disposed = true;
  };
}
