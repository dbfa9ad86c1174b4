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

// swap replaces an element's children with server-rendered HTML. What the
// user was doing inside it carries over to the new content: the text typed
// into a field (an approval's reason) and the focus, with the caret, so a
// live update neither loses their words nor their place.
function swap(el, html) {
  const typed = [];
  for (const f of el.querySelectorAll("input, textarea")) {
    const at = place(el, f);
    if (at && f.value !== f.defaultValue) typed.push([at, f.value]);
  }
  const focused = document.activeElement;
  const focusAt = focused && focused !== el && el.contains(focused) ? place(el, focused) : null;
  const caret = focusAt && typeof focused.selectionStart === "number"
    ? [focused.selectionStart, focused.selectionEnd, focused.selectionDirection] : null;

  const t = document.createElement("template");
  t.innerHTML = html;
  el.replaceChildren(t.content);

  for (const [at, value] of typed) {
    const f = found(el, at);
    if (f) f.value = value;
  }
  const again = focusAt && found(el, focusAt);
  if (!again) return;
  again.focus({ preventScroll: true });
  if (caret && typeof again.setSelectionRange === "function") again.setSelectionRange(...caret);
}

// place says where e is inside el by what stays the same from one render
// to the next: a selector (its id, its form and name, its step, its link)
// and which of the elements matching it e is. It is null for an element
// with nothing to name it by.
function place(el, e) {
  const sel = keyOf(e);
  if (sel === "") return null;
  return { sel, i: [...el.querySelectorAll(sel)].indexOf(e) };
}

// found is the element at a place inside el, or null.
function found(el, at) {
  return el.querySelectorAll(at.sel)[at.i] || null;
}

// keyOf is a selector for elements like e.
function keyOf(e) {
  if (e.id) return "#" + CSS.escape(e.id);
  const tag = e.tagName.toLowerCase();
  const attr = (name) => `[${name}="${CSS.escape(e.getAttribute(name))}"]`;
  if (e.hasAttribute("name")) {
    let key = tag + attr("name");
    if (e.hasAttribute("value") && (tag === "button" || e.type === "radio" || e.type === "checkbox")) key += attr("value");
    const form = e.form;
    if (form && form.hasAttribute("action")) {
      key = `form[action="${CSS.escape(form.getAttribute("action"))}"] ` + key;
    }
    return key;
  }
  for (const name of ["data-step", "href"]) {
    if (e.hasAttribute(name)) return tag + attr(name);
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
        if (editing()) {
          // A reload would lose what the user is typing: offer the
          // link to the other step's log instead.
          const next = document.getElementById("lognext");
          if (next) next.hidden = false;
          reloadAfterLog = false;
          return;
        }
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
      if (reloadAfterLog && !editing()) location.reload();
    },
  });
}

// editing reports whether the user is at a field of the page (focused on
// it, or has changed what it holds), which a reload would lose.
function editing() {
  const a = document.activeElement;
  if (a && a.matches("input, textarea, select")) return true;
  for (const f of document.querySelectorAll("input, textarea")) {
    if (f.type !== "hidden" && f.value !== f.defaultValue) return true;
  }
  return false;
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
