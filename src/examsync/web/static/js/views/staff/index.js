// The staff side of the app: one route (#/staff/...) whose pages load on demand,
// so that a student's offline shell never needs them.
//   #/staff                         home: classes, live now, open and upcoming assignments
//   #/staff/classes[/<id>]          classes; one class with its roster
//   #/staff/assignments[/new[/<class_id>] | /<id>/edit]
//   #/staff/proctor/<assignment_id> the live roster with staff controls
//   #/staff/report/<assignment_id>  results and item analysis
//   #/staff/student/<assignment_id>/<user_id>  one student's printable report
//   #/staff/replay/<session_id>     a session's log, step by step
//   #/staff/gradebook/<class_id>
//   #/staff/accounts                (admin)
//   #/staff/lti                     (admin) LMS platforms, what to paste into the LMS, the tool's key
//   #/staff/content                 import question banks (a dry run first), the tests with versions and exports
//   #/staff/editor[/<draft_id>]     the test editor: drafts, a draft

const PAGES = {
  home: () => import("./home.js"),
  classes: () => import("./classes.js"),
  class: () => import("./class.js"),
  assignments: () => import("./assignments.js"),
  "assignment-form": () => import("./assignment-form.js"),
  proctor: () => import("./proctor.js"),
  report: () => import("./report.js"),
  student: () => import("./student-report.js"),
  replay: () => import("./replay.js"),
  gradebook: () => import("./gradebook.js"),
  accounts: () => import("./accounts.js"),
  lti: () => import("./lti.js"),
  content: () => import("./content.js"),
  editor: () => import("./editor.js"),
};

/** The staff page for the path after #/staff/, as {page, id, extra}. */
export function staffRoute(parts) {
  const [name, id, extra] = parts;
  if (!name) return { page: "home" };
  if (name === "classes") return id ? { page: "class", id } : { page: "classes" };
  if (name === "assignments") {
    if (id === "new") return { page: "assignment-form", classId: extra || null };
    if (id && extra === "edit") return { page: "assignment-form", id };
    return { page: "assignments" };
  }
  if (name === "student" && id && extra) return { page: "student", id, userId: extra };
  if (["proctor", "report", "replay", "gradebook"].includes(name) && id) return { page: name, id };
  if (name === "accounts") return { page: "accounts" };
  if (name === "lti") return { page: "lti" };
  if (name === "content") return { page: "content" };
  if (name === "editor") return { page: "editor", id: id || null };
  return { page: "home" };
}

export function mount(root, ctx, route) {
  const target = staffRoute(route.parts || []);
  let unmount = null;
  let disposed = false;
  PAGES[target.page]().then(
    (view) => {
      if (disposed) return;
      const result = view.mount(root, ctx, target);
      unmount = typeof result === "function" ? result : null;
    },
    (error) => {
      if (disposed) return;
      console.error(error);
      root.textContent = "This page could not load. Check the connection and reload.";
      document.body.dataset.ready = "1";
    },
  );
  return () => {
    disposed = true;
    document.body.classList.remove("staff-wide-main");
    if (unmount) unmount();
  };
}
