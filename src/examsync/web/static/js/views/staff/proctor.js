// The proctor page: one row per student of an assignment, kept current by the
// proctor socket (a whole `roster`, then one `roster_row` per change, resumed
// after the last seq on reconnect), sortable and filterable, with each row's
// staff controls.

import { h, plural } from "../../dom.js";
import { staffApi, rosterSocketUrl, explain } from "./api.js";
import { page, scrollTable } from "./layout.js";
import { ago, windowRange } from "./format.js";
import {
  COLUMNS, FILTERS, STATUS_TEXT, applyMessage, connectionLabel, filterRows, isOffline, sortRows, summarize, timeLabel,
  remainingNow, TIME_LOW_MS,
} from "./roster.js";
import { sendStaffOp } from "./ops.js";
import { openRowActions } from "./row-actions.js";

const PING_MS = 20_000;
const LABELS = Object.fromEntries(COLUMNS.map((c) => [c.key, c.label]));

/** A cell that names its column, so that on a phone, where rows stack, each value keeps its label. */
function cell(key, props, ...children) {
  return h("td", { ...props, dataset: { label: LABELS[key] } }, ...children);
}

export function mount(root, ctx, route) {
  const assignmentId = route.id;
  const view = page({ ctx, root, section: "assignments", title: "Proctor", wide: true, crumbs: [["#/staff", "Home"]] });
  const rows = new Map(); // user_id → row
  const cache = new Map(); // user_id → {row, tr}
  let seq = null;
  let sort = { key: "name", direction: "ascending" };
  const filters = {};
  let socket = null;
  let disposed = false;
  let reconnectDelay = 1000;
  const timers = { reconnect: null, ping: null, tick: null, render: null };

  const liveLine = h("p", { id: "proctor-live", class: "live-line", dataset: { state: "connecting" }, attrs: { role: "status" }, text: "Connecting…" });
  const summary = h("p", { id: "proctor-summary", class: "proctor-summary", attrs: { "aria-live": "polite" } });
  const meta = h("p", { class: "meta" });
  const links = h("p", { class: "card-actions" },
    h("a", { class: "button button-secondary button-small", href: `#/staff/report/${encodeURIComponent(assignmentId)}`, text: "Report" }),
    h("a", { class: "button button-quiet button-small", href: `#/staff/assignments/${encodeURIComponent(assignmentId)}/edit`, text: "Edit assignment" }));
  const filterBox = h("fieldset", { class: "filters" }, h("legend", { text: "Show only" }),
    Object.entries(FILTERS).map(([key, f]) => {
      const box = h("input", { type: "checkbox", id: `filter-${key}`, dataset: { filter: key } });
      box.addEventListener("change", () => {
        filters[key] = box.checked;
        schedule(true);
      });
      return h("span", { class: "checkbox-field" }, box, h("label", { for: `filter-${key}`, text: f.label }));
    }));
  const sortSelect = h("select", { id: "roster-sort" },
    COLUMNS.flatMap((c) => [
      h("option", { value: `${c.key}:ascending`, text: `${c.label} ↑` }),
      h("option", { value: `${c.key}:descending`, text: `${c.label} ↓` })]));
  sortSelect.addEventListener("change", () => {
    const [key, direction] = sortSelect.value.split(":");
    sort = { key, direction };
    renderHead();
    schedule(true);
  });
  const sortBox = h("div", { class: "field sort-field" }, h("label", { for: "roster-sort", text: "Sort by" }), sortSelect);
  const headRow = h("tr");
  const tbody = h("tbody");
  const empty = h("p", { class: "muted", id: "proctor-empty", hidden: true, text: "No student matches these filters." });
  const table = h("table", { class: "data-table roster-table", id: "roster" },
    h("caption", { class: "visually-hidden", text: "Students of this assignment, live" }), h("thead", {}, headRow), tbody);
  view.body.append(meta, links, liveLine, summary, filterBox, sortBox, scrollTable("Roster", table), empty);

  const renderHead = () => {
    sortSelect.value = `${sort.key}:${sort.direction}`;
    headRow.replaceChildren(...COLUMNS.map((c) => {
      const on = sort.key === c.key;
      const button = h("button", { type: "button", class: "sort-button", dataset: { sort: c.key } },
        c.label, h("span", { class: "sort-mark", attrs: { "aria-hidden": "true" }, text: on ? (sort.direction === "ascending" ? " ▲" : " ▼") : "" }));
      button.addEventListener("click", () => {
        sort = { key: c.key, direction: on && sort.direction === "ascending" ? "descending" : "ascending" };
        renderHead();
        schedule(true);
        headRow.querySelector(`[data-sort="${c.key}"]`).focus();
      });
      return h("th", { scope: "col", attrs: { "aria-sort": on ? sort.direction : null } }, button);
    }), h("th", { scope: "col", text: "Actions" }));
  };
  renderHead();

  const act = async (row, type, fields, doneText) => {
    try {
      await sendStaffOp(row.session_id, type, fields);
      ctx.announce(doneText);
      view.say("");
    } catch (error) {
      if (error.status === 401) return;
      view.say(`${row.display_name}: ${error.network ? explain(error) : error.message}`);
    }
  };

  const buildRow = (row, now) => {
    const name = row.display_name || row.email;
    const nameCell = row.session_id
      ? h("a", { href: `#/staff/replay/${encodeURIComponent(row.session_id)}`, text: name, attrs: { "aria-label": `${name}: session replay` } })
      : h("span", { text: name });
    const controls = h("div", { class: "row-actions" });
    if (row.status === "active" || row.status === "paused") {
      const paused = row.status === "paused";
      const toggle = h("button", { type: "button", class: "button button-small button-secondary", dataset: { action: paused ? "resume" : "pause" },
        text: paused ? "Resume" : "Pause", attrs: { "aria-label": `${paused ? "Resume" : "Pause"} ${name}` } });
      // Busy, not disabled, while the op is on its way: a disabled button would drop the keyboard focus.
      toggle.addEventListener("click", () => {
        if (toggle.getAttribute("aria-busy") === "true") return;
        toggle.setAttribute("aria-busy", "true");
        act(row, paused ? "resume" : "pause", {}, `${name} ${paused ? "resumed" : "paused"}.`).finally(() => toggle.removeAttribute("aria-busy"));
      });
      controls.append(toggle);
    }
    if (row.session_id) {
      const more = h("button", { type: "button", class: "button button-small button-quiet", dataset: { action: "more" },
        text: "More", attrs: { "aria-label": `More actions for ${name}`, "aria-haspopup": "dialog" } });
      more.addEventListener("click", () => openRowActions({ ctx, row: rows.get(row.user_id) || row, act, opener: more }));
      controls.append(more);
    }
    const left = remainingNow(row, now);
    return h("tr", {
      class: [isOffline(row) && "is-offline", row.status === "active" && left != null && left < TIME_LOW_MS && "is-time-low"],
      dataset: { userId: row.user_id, status: row.status, connection: isOffline(row) ? "offline" : row.connected ? "online" : "none" },
    },
    h("th", { scope: "row", class: "cell-student" }, nameCell, h("span", { class: "cell-sub", text: row.email || "" })),
    cell("status", {}, h("span", { class: ["badge", `badge-${row.status}`], text: STATUS_TEXT[row.status] || row.status })),
    cell("connection", { class: "cell-connection", text: connectionLabel(row) }),
    cell("progress", { class: "cell-answered", text: row.total ? `${row.answered} of ${row.total}` : "—" }),
    cell("flagged", { class: "cell-flagged", text: String(row.flagged || 0) }),
    cell("section", { class: "cell-section", text: row.section || "—" }),
    cell("time", { class: "cell-time", text: timeLabel(row, now) }),
    cell("last", { class: "cell-last", text: ago(row.last_op_at, now) }),
    cell("issues", { class: "cell-issues", text: String(row.late_or_rejected_ops || 0) }),
    h("td", { class: "cell-actions" }, controls));
  };

  const render = () => {
    timers.render = null;
    const now = Date.now();
    const all = [...rows.values()];
    const shown = sortRows(filterRows(all, filters, now), sort.key, sort.direction, now);
    const focused = document.activeElement && tbody.contains(document.activeElement)
      ? { user: document.activeElement.closest("tr").dataset.userId, action: document.activeElement.dataset.action } : null;
    const trs = shown.map((row) => {
      let entry = cache.get(row.user_id);
      if (!entry || entry.row !== row) {
        entry = { row, tr: buildRow(row, now) };
        cache.set(row.user_id, entry);
      }
      return entry.tr;
    });
    for (const key of cache.keys()) if (!rows.has(key)) cache.delete(key);
    const same = trs.length === tbody.children.length && trs.every((tr, i) => tbody.children[i] === tr);
    if (!same) tbody.replaceChildren(...trs);
    if (focused && !tbody.contains(document.activeElement)) {
      const tr = tbody.querySelector(`tr[data-user-id="${CSS.escape(focused.user)}"]`);
      // Pause turns into Resume (and back) when the row comes back: keep the focus on that control.
      const same = focused.action === "pause" || focused.action === "resume" ? '[data-action="pause"], [data-action="resume"]'
        : focused.action ? `[data-action="${focused.action}"]` : null;
      const target = tr && ((same && tr.querySelector(same)) || tr.querySelector("a, button"));
      if (target) target.focus();
    }
    empty.hidden = shown.length > 0 || all.length === 0;
    const c = summarize(all);
    summary.textContent = `${plural(all.length, "student")}: ${c.working} working, ${c.paused} paused, ${c.offline} offline, ${c.not_started} not started, ${c.submitted} submitted`;
    document.body.dataset.rosterSeq = String(seq ?? "");
  };
  const schedule = (now = false) => {
    if (now) {
      clearTimeout(timers.render);
      render();
      return;
    }
    if (!timers.render) timers.render = setTimeout(render, 150);
  };

  // The countdowns move between updates.
  timers.tick = setInterval(() => {
    const now = Date.now();
    for (const { row, tr } of cache.values()) {
      if (row.status !== "active") continue;
      const cell = tr.querySelector(".cell-time");
      if (cell) cell.textContent = timeLabel(row, now);
      const last = tr.querySelector(".cell-last");
      if (last) last.textContent = ago(row.last_op_at, now);
    }
  }, 1000);

  const setLive = (state, text) => {
    liveLine.dataset.state = state;
    liveLine.textContent = text;
  };

  const connect = () => {
    if (disposed) return;
    socket = new WebSocket(rosterSocketUrl(assignmentId, seq));
    socket.addEventListener("open", () => {
      reconnectDelay = 1000;
      setLive("live", "Live: rows update as students work.");
      clearInterval(timers.ping);
      timers.ping = setInterval(() => socket && socket.readyState === 1 && socket.send(JSON.stringify({ type: "ping", id: String(Date.now()) })), PING_MS);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "error") {
        setLive("error", `The live feed stopped: ${message.message || message.code}`);
        return;
      }
      const before = seq;
      seq = applyMessage(rows, message, seq, Date.now());
      if (seq !== before || message.type === "roster") schedule(message.type === "roster");
    });
    socket.addEventListener("close", (event) => {
      clearInterval(timers.ping);
      socket = null;
      if (disposed) return;
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        setLive("error", "The live feed was refused. Reload the page or log in again.");
        return;
      }
      setLive("reconnecting", "Reconnecting… rows may be behind.");
      timers.reconnect = setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 15_000);
    });
  };

  Promise.all([staffApi.roster(assignmentId), staffApi.assignment(assignmentId).catch(() => null)]).then(([roster, a]) => {
    if (disposed) return;
    if (a) {
      view.setTitle(`Proctor: ${a.test_title}`);
      meta.textContent = `${a.class_name} · ${windowRange(a, Date.now())}`;
    }
    if (!rows.size) for (const row of roster) rows.set(row.user_id, { ...row, received_at: Date.now() });
    render();
    view.ready();
  }, (error) => view.fail(error, "The roster could not load"));
  connect();

  return () => {
    disposed = true;
    clearTimeout(timers.reconnect);
    clearTimeout(timers.render);
    clearInterval(timers.ping);
    clearInterval(timers.tick);
    if (socket) socket.close(1000);
  };
}
