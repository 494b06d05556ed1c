// The content page and the test editor, routed from js/app.js: #/staff/content, #/staff/editor[/<draft_id>].

import { h } from "../../dom.js";

const PAGES = { content: () => import("./content.js"), editor: () => import("./editor.js") };

/** Resolves to the page's unmount. */
export async function mount(root, ctx, target, page) {
  let view;
  try {
    view = await PAGES[target.page]();
  } catch (error) {
    console.error(error);
    if (page.gone) return null;
    root.append(h("p", { text: "This page could not load. Check the connection and reload." }));
    document.body.dataset.ready = "1";
    return null;
  }
  if (page.gone) return null; // left before it loaded
  const unmount = view.mount(root, ctx, target);
  return typeof unmount === "function" ? unmount : null;
}
