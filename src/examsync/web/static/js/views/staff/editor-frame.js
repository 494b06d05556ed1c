// The frame of the content page and the test editor: the staff navigation, heading and status line (layout.js).

import { page } from "./layout.js";

export function staffFrame(root, ctx, { section, title, crumbs = [] }) {
  return page({ ctx, root, section, title, crumbs, wide: section === "content" });
}
