// baton's web UI: live updates over Server-Sent Events, and log search.
// Everything inserted is HTML the server rendered and escaped; this file
// never builds markup from data itself.
"use strict";

// follow opens an event stream and calls on[event](data) for each event.
function follow(url, on) {
  const es = new EventSource(url);
  for (const name of Object.keys(on)) {
    es.addEventListener(name, (e) => on[name](e.data, es));
  }
  return es;
}

// swap replaces an element's children with server-rendered HTML. Focus
// inside the element stays on the same control in the new content, so a
// keyboard user does not lose their place at each live update.
function swap(el, html) {
  const key = focusKey(el);
  const t = document.createElement("template");
  t.innerHTML = html;
  el.replaceChildren(t.content);
  if (key === "") return;
  const again = el.querySelector(key);
  if (again) again.focus({ preventScroll: true });
}

// focusKey names the focused element inside el by what stays the same
// across renders (its id, its step, its link), or is "" when focus is
// elsewhere or the element has nothing to name it by.
function focusKey(el) {
  const f = document.activeElement;
  if (!f || f === el || !el.contains(f)) return "";
  if (f.id) return "#" + CSS.escape(f.id);
  const tag = f.tagName.toLowerCase();
  for (const attr of ["data-step", "href", "name"]) {
    const v = f.getAttribute(attr);
    if (v !== null) return `${tag}[${attr}="${CSS.escape(v)}"]`;
  }
  return "";
}

function liveRuns() {
  const table = document.getElementById("runs");
  if (!table || !table.dataset.live) return;
  const body = document.getElementById("runrows");
  follow(table.dataset.live, {
    rows: (html) => swap(body, html),
  });
}

function liveRun() {
  const live = document.getElementById("live");
  if (!live || !live.dataset.live) return;
  follow(live.dataset.live, {
    live: (html) => {
      swap(live, html);
      // Unless the address names a step, the log follows the run: when
      // another step becomes the one to show, load the page for it.
      const want = document.getElementById("logstep");
      const have = document.getElementById("log");
      const named = new URLSearchParams(location.search).has("step");
      if (!named && want && want.dataset.step !== "" && (!have || have.dataset.step !== want.dataset.step)) {
        // Not before the log shown has all its lines: its stream ends
        // once the step's last line was sent.
        if (logFollowing) reloadAfterLog = true;
        else location.reload();
      }
    },
    end: (_, es) => {
      es.close();
      // The run ended: load the page once more for what only a whole page
      // shows (its variables, notifications, the re-run form), once the
      // log shown has all its lines.
      if (logFollowing) reloadAfterLog = true;
      else setTimeout(() => location.reload(), 300);
    },
  });
}

// logFollowing is set while the page streams a step's log; reloadAfterLog
// asks for a reload once that stream has ended.
let logFollowing = false;
let reloadAfterLog = false;

function liveLog() {
  const list = document.getElementById("loglines");
  if (!list || !list.dataset.live) return;
  logFollowing = true;
  const none = document.getElementById("lognone");
  const pinned = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  follow(list.dataset.live, {
    lines: (html) => {
      const stick = pinned();
      const t = document.createElement("template");
      t.innerHTML = html;
      list.append(t.content);
      if (none) none.remove();
      applySearch();
      if (stick) window.scrollTo(0, document.body.scrollHeight);
    },
    end: (_, es) => {
      es.close();
      list.removeAttribute("data-live");
      list.classList.add("ended");
      logFollowing = false;
      if (reloadAfterLog) location.reload();
    },
  });
}

// applySearch shows only the log lines that contain the search text.
function applySearch() {
  const input = document.getElementById("logsearch");
  const list = document.getElementById("loglines");
  const count = document.getElementById("logcount");
  if (!input || !list) return;
  const q = input.value.toLowerCase();
  let shown = 0, all = 0;
  for (const li of list.children) {
    if (li.classList.contains("attempt")) continue;
    all++;
    // The line's own text: not its time, nor the stream's label.
    const tx = li.querySelector(".tx");
    const hit = q === "" || (tx !== null && tx.textContent.toLowerCase().includes(q));
    li.hidden = !hit;
    if (hit) shown++;
  }
  if (count) count.textContent = q === "" ? "" : `${shown} of ${all} lines`;
}

function search() {
  const input = document.getElementById("logsearch");
  if (input) input.addEventListener("input", applySearch);
}

document.addEventListener("DOMContentLoaded", () => {
  liveRuns();
  liveRun();
  liveLog();
  search();
});
