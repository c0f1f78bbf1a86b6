"use strict";
// The board's view side of MCP Apps: JSON-RPC 2.0 over postMessage with the host (ui/initialize, tool-input,
// tool-result, host-context-changed; tools/call for every write). No library, no network: the page is served inline.
(() => {
  const PROTOCOL = "2026-01-26";
  const FLUSH_MS = 300; // quick actions within this window go out together, one call per tool
  const PREVIEW_OVER = 10; // a bulk change of more tasks is shown as its dry-run plan first
  const $ = (id) => document.getElementById(id);
  const body = document.body;

  // --- JSON-RPC with the host -------------------------------------------------------------------------------
  let nextId = 1;
  const waiting = new Map();
  function request(method, params) {
    const id = nextId++;
    window.parent.postMessage({ jsonrpc: "2.0", id, method, params }, "*");
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
  }
  function notify(method, params) {
    window.parent.postMessage({ jsonrpc: "2.0", method, params }, "*");
  }
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || msg.jsonrpc !== "2.0") return;
    if (msg.id !== undefined && !msg.method) {
      const w = waiting.get(msg.id);
      if (!w) return;
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error.message || "host error"));
      else w.resolve(msg.result);
      return;
    }
    const p = msg.params || {};
    if (msg.method === "ui/notifications/tool-input") origin.args = p.arguments || {};
    else if (msg.method === "ui/notifications/tool-result") received(p);
    else if (msg.method === "ui/notifications/host-context-changed") applyContext(p);
    else if (msg.method === "ui/resource-teardown") window.parent.postMessage({ jsonrpc: "2.0", id: msg.id, result: {} }, "*");
  });

  async function callTool(name, args) {
    const result = await request("tools/call", { name, arguments: args });
    if (result.isError) {
      const text = (result.content || []).map((c) => c.text || "").join(" ");
      throw new Error(text || name + " failed");
    }
    return result;
  }

  // --- theme --------------------------------------------------------------------------------------------------
  function applyContext(ctx) {
    if (!ctx) return;
    if (ctx.theme) document.documentElement.dataset.theme = ctx.theme;
    const vars = (ctx.styles && ctx.styles.variables) || {};
    // Only the spec's namespaces: a host variable can theme the board, never override its own names.
    for (const [k, v] of Object.entries(vars)) if (/^--(color|font|border|shadow)-/.test(k) && v) document.documentElement.style.setProperty(k, v);
    if (ctx.toolInfo && ctx.toolInfo.tool && ctx.toolInfo.tool.name) origin.tool = ctx.toolInfo.tool.name;
  }

  // --- the model: the tasks shown, in the order the server gave them -------------------------------------------
  const origin = { tool: null, args: {} }; // the read tool whose result is shown: called again to refresh
  let tasks = []; // {id, content, project_id, section_id, parent_id, priority, due, labels}
  let assignees = {}; // task id -> the assignee's user id
  let projectNames = {};
  let today = null; // the user's today (from the server: the board never reads the browser's clock for it)
  let writes = []; // the write handles of the last action, for Undo
  let busy = 0;
  let paintStart = 0;

  function received(result) {
    paintStart = performance.now();
    const meta = (result._meta || {})["tools-server/board"] || {};
    if (meta.today) today = meta.today;
    const data = result.structuredContent || {};
    if (!origin.tool) origin.tool = data.lists ? "find_items" : "query_changes";
    const seen = new Set();
    const found = [];
    for (const t of data.lists ? data.lists.flatMap((l) => l.tasks) : data.tasks || []) {
      if (!seen.has(t.id)) { seen.add(t.id); found.push({ ...t }); }
    }
    // Within a project, the project's own order (what a drag changes); projects keep the order they came in.
    const order = meta.order || {};
    assignees = meta.assignees || {};
    projectNames = meta.projects || {};
    const project = new Map();
    found.forEach((t) => { if (!project.has(t.project_id)) project.set(t.project_id, project.size); });
    const place = new Map(found.map((t, i) => [t.id, i]));
    tasks = found.sort((a, b) => project.get(a.project_id) - project.get(b.project_id)
      || (order[a.id] ?? place.get(a.id)) - (order[b.id] ?? place.get(b.id)) || place.get(a.id) - place.get(b.id));
    const more = data.lists ? data.lists.reduce((n, l) => n + (l.more || 0), 0) : data.more || 0;
    if (data.overview === false) status(`${(data.changes || []).length} change(s) since the last look: ask for the overview to see the board`);
    else if (more) status(`+${more} more not shown (raise limit)`);
    render();
    // Two frames: the first runs before the browser paints the new DOM, the second after it has.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      body.dataset.paintMs = (performance.now() - paintStart).toFixed(1);
      // On the clock the host shares (epoch milliseconds), so a host can time its own message to the painted board.
      body.dataset.paintedAt = (performance.timeOrigin + performance.now()).toFixed(1);
      body.dataset.rendered = String(Number(body.dataset.rendered || 0) + 1);
    }));
  }

  // --- days ------------------------------------------------------------------------------------------------------
  const DAY = 86400000;
  const parse = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10));
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  const shift = (days) => iso(parse(today) + days * DAY);
  const dayOf = (t) => (t.due ? t.due.slice(0, 10) : null);
  function label(key) {
    if (key === "overdue") return "Overdue";
    if (key === "none") return "No date";
    if (key === today) return "Today";
    if (key === shift(1)) return "Tomorrow";
    const d = new Date(parse(key));
    return d.toLocaleDateString("en", { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });
  }
  function groups() {
    const by = new Map();
    for (const t of tasks) {
      const day = dayOf(t);
      const key = !day ? "none" : today && day < today ? "overdue" : day;
      if (!by.has(key)) by.set(key, []);
      by.get(key).push(t);
    }
    if (today && !by.has(today)) by.set(today, []); // always a Today to drop on
    const keys = [...by.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    return keys.map((k) => [k, by.get(k)]);
  }
  const rank = (k) => (k === "overdue" ? 0 : k === "none" ? 2 : 1);

  // --- rendering -------------------------------------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  }
  let focusId = null;
  function render() {
    const board = $("board");
    board.replaceChildren();
    for (const [key, list] of groups()) {
      const ids = new Set(list.map((t) => t.id));
      // A subtask follows its parent when both are on the same day; else it stands alone, marked as a subtask.
      const ordered = [];
      const kids = new Map();
      for (const t of list) {
        if (t.parent_id && ids.has(t.parent_id)) {
          if (!kids.has(t.parent_id)) kids.set(t.parent_id, []);
          kids.get(t.parent_id).push(t);
        }
      }
      const add = (t, depth) => { ordered.push([t, depth]); for (const k of kids.get(t.id) || []) add(k, depth + 1); };
      for (const t of list) if (!(t.parent_id && ids.has(t.parent_id))) add(t, 0);
      const ul = el("ul", { "aria-label": label(key) });
      for (const [t, depth] of ordered) ul.append(row(t, depth, kids.get(t.id) || []));
      const bulk = key !== "none" && list.length
        ? el("button", { type: "button", class: "postpone", title: "Move every task of this day to the next day", onclick: () => postpone(key, list) }, "All →")
        : null;
      const section = el("section", { class: "day" + (key === "overdue" ? " overdue" : ""), "data-day": key },
        el("h2", {}, label(key), el("span", { class: "n" }, String(list.length)), bulk), ul);
      section.addEventListener("dragover", (e) => { if (dragged) { e.preventDefault(); section.classList.add("over"); } });
      section.addEventListener("dragleave", () => section.classList.remove("over"));
      section.addEventListener("drop", (e) => { e.preventDefault(); section.classList.remove("over"); dropOnDay(key); });
      board.append(section);
    }
    body.dataset.tasks = String(tasks.length);
    if (focusId) { const f = board.querySelector(`li[data-id="${focusId}"]`); if (f) f.focus(); }
  }
  function row(t, depth, kids) {
    const due = t.due || "";
    const time = /^\d{4}-\d\d-\d\d \d\d:\d\d/.test(due) ? due.slice(11, 16) : "";
    const rule = (due.match(/\((.*)\)$/) || [])[1];
    const meta = el("span", { class: "meta" },
      t.priority > 1 ? el("span", { class: "p" + t.priority }, "p" + (5 - t.priority)) : null,
      time ? el("span", {}, time) : null,
      rule ? el("span", { title: "Recurring" }, "↻ " + rule) : null,
      ...(t.labels || []).map((l) => el("span", {}, "@" + l)),
      Object.keys(projectNames).length > 1 && projectNames[t.project_id] ? el("span", {}, "#" + projectNames[t.project_id]) : null,
      assignees[t.id] ? el("span", { title: "Assigned to user " + assignees[t.id] }, "👤 assigned") : null,
      kids.length ? el("span", {}, kids.length + " subtask" + (kids.length > 1 ? "s" : "")) : null);
    const li = el("li", {
      class: "task" + (depth ? " sub" : ""),
      "data-id": t.id, draggable: "true", tabindex: "0",
      "aria-label": t.content + (t.priority > 1 ? ", priority " + (5 - t.priority) : ""),
    },
      el("button", { type: "button", class: "check p" + (t.priority || 1), "aria-label": "Complete " + t.content, onclick: () => complete(t.id) }),
      el("span", { class: "body" }, el("span", { class: "content" }, (t.parent_id && !depth ? "↳ " : "") + t.content), meta),
      el("button", { type: "button", class: "more", "aria-label": "Reschedule " + t.content, "aria-expanded": "false", onclick: (e) => picker(e.currentTarget, t) }, "Date"));
    li.addEventListener("dragstart", (e) => { dragged = t.id; e.dataTransfer.setData("text/plain", t.id); e.dataTransfer.effectAllowed = "move"; });
    li.addEventListener("dragend", () => { dragged = null; });
    li.addEventListener("dragover", (e) => { if (dragged && dragged !== t.id) { e.preventDefault(); li.classList.add("drop"); } });
    li.addEventListener("dragleave", () => li.classList.remove("drop"));
    li.addEventListener("drop", (e) => { e.preventDefault(); e.stopPropagation(); li.classList.remove("drop"); dropBefore(t.id); });
    li.addEventListener("keydown", (e) => keys(e, t));
    return li;
  }
  function picker(button, t) {
    const open = button.parentElement.querySelector(".picker");
    if (open) { open.remove(); button.setAttribute("aria-expanded", "false"); return; }
    const p = $("picker").content.firstElementChild.cloneNode(true);
    const input = p.querySelector("input");
    input.value = dayOf(t) || today || "";
    p.addEventListener("click", (e) => {
      const when = e.target.dataset && e.target.dataset.when;
      if (!when) return;
      const date = when === "today" ? today : when === "tomorrow" ? shift(1) : when === "next-week" ? nextWeek() : input.value;
      if (date) reschedule([t.id], date);
    });
    button.parentElement.querySelector(".body").append(p);
    button.setAttribute("aria-expanded", "true");
    p.querySelector("button").focus();
  }
  function nextWeek() {
    const d = new Date(parse(today)).getUTCDay() || 7; // 1 = Monday ... 7 = Sunday, as Todoist counts
    return shift(7 - d + 1); // the next Monday
  }
  // Keys on a focused task: x completes, t = tomorrow, d = today, Alt+Up/Down moves it within its day.
  function keys(e, t) {
    if (e.target !== e.currentTarget) return;
    const li = e.currentTarget;
    if (e.key === "x") { e.preventDefault(); complete(t.id); }
    else if (e.key === "t") { e.preventDefault(); reschedule([t.id], shift(1)); }
    else if (e.key === "d") { e.preventDefault(); reschedule([t.id], today); }
    else if (e.altKey && e.key === "ArrowUp" && li.previousElementSibling) { e.preventDefault(); focusId = t.id; dragged = t.id; dropBefore(li.previousElementSibling.dataset.id); }
    else if (e.altKey && e.key === "ArrowDown" && li.nextElementSibling) { e.preventDefault(); focusId = t.id; const after = li.nextElementSibling.nextElementSibling; dragged = t.id; after ? dropBefore(after.dataset.id) : dropOnEnd(li.nextElementSibling.dataset.id); }
    else if (e.key === "ArrowDown" && li.nextElementSibling) { e.preventDefault(); li.nextElementSibling.focus(); }
    else if (e.key === "ArrowUp" && li.previousElementSibling) { e.preventDefault(); li.previousElementSibling.focus(); }
  }

  // --- actions: optimistic in the view, sent in batches, rolled back from the server's truth on failure ----------
  let dragged = null;
  let queue = []; // {tool, args} merged per tool at flush time
  let timer = null;
  function enqueue(op) {
    queue.push(op);
    clearTimeout(timer);
    timer = setTimeout(flush, FLUSH_MS);
    status("Saving…");
  }
  function complete(id) {
    tasks = tasks.filter((t) => t.id !== id && t.parent_id !== id);
    render();
    enqueue({ tool: "complete_items", id });
  }
  function reschedule(ids, date) {
    if (ids.length > PREVIEW_OVER) return preview("update_items", { items: ids.map((id) => ({ id, due_date: date })) }, `Move ${ids.length} tasks to ${label(date)}`);
    for (const t of tasks) if (ids.includes(t.id)) t.due = date + (t.due && t.due.includes("(") ? " " + t.due.slice(t.due.indexOf("(")) : "");
    render();
    for (const id of ids) enqueue({ tool: "update_items", item: { id, due_date: date } });
  }
  function postpone(key, list) {
    const next = iso(parse(key === "overdue" ? today : key) + DAY);
    reschedule(list.map((t) => t.id), key === "overdue" ? today : next);
  }
  function dropBefore(targetId) {
    const id = dragged;
    dragged = null;
    if (!id || id === targetId) return;
    const moving = tasks.find((t) => t.id === id);
    const target = tasks.find((t) => t.id === targetId);
    if (!moving || !target) return;
    if (dayOf(moving) !== dayOf(target)) {
      // Onto another day's task: the task moves to that day (its order there is the server's).
      return dayOf(target) ? reschedule([id], dayOf(target)) : enqueue({ tool: "update_items", item: { id, clear: ["due"] } });
    }
    tasks.splice(tasks.indexOf(moving), 1);
    tasks.splice(tasks.indexOf(target), 0, moving);
    render();
    enqueue({ tool: "move_items", args: { ids: [id], position: { before: targetId } } });
  }
  function dropOnEnd(targetId) {
    const id = dragged;
    dragged = null;
    const moving = tasks.find((t) => t.id === id);
    const target = tasks.find((t) => t.id === targetId);
    if (!moving || !target) return;
    tasks.splice(tasks.indexOf(moving), 1);
    tasks.splice(tasks.indexOf(target) + 1, 0, moving);
    render();
    enqueue({ tool: "move_items", args: { ids: [id], position: { after: targetId } } });
  }
  function dropOnDay(key) {
    const id = dragged;
    dragged = null;
    const moving = tasks.find((t) => t.id === id);
    if (!moving || key === "overdue" || dayOf(moving) === key) return;
    if (key === "none") {
      moving.due = null;
      render();
      return enqueue({ tool: "update_items", item: { id, clear: ["due"] } });
    }
    reschedule([id], key);
  }
  // The queue as calls: every complete in one complete_items, every date change in one update_items, each reorder
  // on its own (its position depends on the order before it).
  function batches(ops) {
    const calls = [];
    const done = ops.filter((o) => o.tool === "complete_items").map((o) => o.id);
    if (done.length) calls.push({ name: "complete_items", args: { ids: done } });
    const items = new Map();
    for (const o of ops) if (o.tool === "update_items") items.set(o.item.id, o.item);
    if (items.size) calls.push({ name: "update_items", args: { items: [...items.values()] } });
    for (const o of ops) if (o.tool === "move_items") calls.push({ name: "move_items", args: o.args });
    return calls;
  }
  async function flush() {
    const ops = queue;
    queue = [];
    timer = null;
    await send(batches(ops));
  }
  async function send(calls) {
    busy++;
    body.dataset.busy = "1";
    const handles = [];
    let failed = null;
    for (const call of calls) {
      try {
        const result = await callTool(call.name, call.args);
        const data = result.structuredContent || {};
        if (data.write) handles.push(data.write);
        if (data.failed) failed = (data.failures || []).map((f) => f.message).join("; ") || `${data.failed} failed`;
      } catch (err) {
        failed = err.message;
      }
    }
    if (handles.length) writes = handles;
    $("undo").hidden = writes.length === 0;
    await refresh(); // the server's truth: a failed change shows as it really is (the rollback)
    busy--;
    body.dataset.busy = busy ? "1" : "0";
    body.dataset.sent = String(Number(body.dataset.sent || 0) + calls.length);
    status(failed ? "Not saved: " + failed : "Saved", !!failed);
  }
  async function refresh() {
    // Without the tool's input (a host that did not send it) the same read cannot be repeated: the board keeps its
    // optimistic state and says nothing it does not know.
    if (origin.tool === "find_items" && !origin.args.filter) return;
    try {
      const args = origin.tool === "find_items" ? origin.args : { limit: origin.args.limit || 50 };
      received(await callTool(origin.tool || "find_items", args));
    } catch (err) {
      status("Could not refresh: " + err.message, true);
    }
  }
  async function undo() {
    const handles = writes;
    writes = [];
    $("undo").hidden = true;
    await send(handles.reverse().map((w) => ({ name: "undo", args: { write: w } })));
    writes = [];
    $("undo").hidden = true;
  }
  function status(text, error) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", !!error);
  }

  // --- preview then apply: the dry-run plan in a card; Apply sends the same arguments, Cancel sends nothing ------
  let pending = null;
  async function preview(name, args, title) {
    try {
      const result = await callTool(name, { ...args, dry_run: true });
      const plan = (result.structuredContent || {}).plan || [];
      pending = { name, args };
      $("preview-title").textContent = `${title}: ${plan.length} change${plan.length === 1 ? "" : "s"}`;
      const byId = new Map(tasks.map((t) => [t.id, t.content]));
      $("preview-list").replaceChildren(...plan.map((c) => {
        const a = c.args || {};
        return el("li", {}, `${c.type} ${byId.get(a.id) || a.id || ""}${a.due ? " → " + (a.due.date || "") : ""}`);
      }));
      $("preview").hidden = false;
      $("apply").focus();
    } catch (err) {
      status("Preview failed: " + err.message, true);
    }
  }
  $("apply").addEventListener("click", async () => {
    const p = pending;
    pending = null;
    $("preview").hidden = true;
    if (p) await send([{ name: p.name, args: p.args }]);
  });
  $("cancel").addEventListener("click", () => { pending = null; $("preview").hidden = true; status("Cancelled"); });
  $("undo").addEventListener("click", undo);

  // --- start: the handshake, then the host sends the tool's input and result ------------------------------------
  new ResizeObserver(() => notify("ui/notifications/size-changed", { width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })).observe(document.documentElement);
  request("ui/initialize", {
    protocolVersion: PROTOCOL,
    appInfo: { name: "tools-server board", version: "1" },
    appCapabilities: { availableDisplayModes: ["inline"] },
  }).then((init) => {
    applyContext(init && init.hostContext);
    notify("ui/notifications/initialized", {});
  }, (err) => status("Host refused: " + err.message, true));
})();
