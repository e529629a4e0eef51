// The live table's manners: morph instead of replace, pause, hidden tabs, new rows held.
//
// htmx polls #task-table (hx-trigger in the markup, so the server keeps the cadence);
// this file only decides whether a poll may go out and how its answer lands. It runs
// under the strict CSP as a plain same-origin script: no eval, no inline handlers.
(function () {
  "use strict";

  const PAUSED_KEY = "task-dashboard:live-paused"; // sessionStorage: remembered per tab
  const baseTitle = document.title;
  let paused = sessionStorage.getItem(PAUSED_KEY) === "yes";
  let lastUpdated = new Date();
  let holdNewRows = false; // set for the length of one poll's swap
  let heldRows = 0;

  const table = () => document.getElementById("task-table");
  const byId = (id) => document.getElementById(id);
  // htmx sets detail.elt to the element an event fires on (the target, for swaps); the
  // element that made the request is in the request's config.
  const requester = (event) => event.detail.requestConfig && event.detail.requestConfig.elt;

  // --- Swapping: every answer aimed at the table morphs into it ----------------------
  // Morphing keeps the nodes a reader is using (focus, caret, text selection, scroll
  // inside the table, open <details>) where a replacement would throw them away. One
  // rule here covers the poll and every control that targets the table (launch,
  // filters, pager, row actions), whatever hx-swap their markup says.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "task-table" || !window.Idiomorph) return;
    event.detail.swapOverride = "morph:outerHTML";
    holdNewRows = requester(event) === target && readerIsInTheTable();
  });

  // The "morph" swap style (hx-swap="morph" / "morph:outerHTML" / "morph:innerHTML").
  // idiomorph's own extension is not used: it calls every other style inline, so an
  // out-of-band innerHTML swap (the announcer) was put inside its target. Without
  // idiomorph (it failed to load) htmx falls back to its default swap.
  const MORPH_STYLES = {
    morph: "outerHTML",
    "morph:outerHTML": "outerHTML",
    "morph:innerHTML": "innerHTML",
  };
  const Idiomorph = window.Idiomorph;
  if (Idiomorph) {
    htmx.defineExtension("morph", {
      isInlineSwap: (style) => MORPH_STYLES[style] === "outerHTML",
      handleSwap: (style, target, fragment) =>
        MORPH_STYLES[style] &&
        Idiomorph.morph(target, fragment.children, { morphStyle: MORPH_STYLES[style] }),
    });
    const callbacks = Idiomorph.defaults.callbacks;
    // The server never renders a <details> open; the reader's choice wins.
    callbacks.beforeAttributeUpdated = (name, element) =>
      !(name === "open" && element.tagName === "DETAILS");
    // A poll that brings new rows while the reader is in the table keeps them back, so
    // the row under their eyes (or their focus) does not move; a button brings them in.
    callbacks.beforeNodeAdded = (node) => {
      if (holdNewRows && node.nodeName === "TR" && node.id && node.id.startsWith("task-")) {
        heldRows += 1;
        return false;
      }
      return true;
    };
  }

  function readerIsInTheTable() {
    const section = table();
    const body = section && section.querySelector("tbody");
    if (!body) return false;
    const focused = document.activeElement;
    if (focused && body.contains(focused)) return true;
    const selection = document.getSelection();
    if (selection && !selection.isCollapsed && body.contains(selection.anchorNode)) return true;
    // Scrolled down into the rows: anything added above would push them down.
    return body.getBoundingClientRect().top < 0;
  }

  // --- Polls: none while paused or hidden; one at once on resume or when shown -------
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt === table() && (paused || document.hidden)) event.preventDefault();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !paused) refreshNow();
  });

  function refreshNow() {
    const section = table();
    if (section) htmx.trigger(section, "refresh");
  }

  // --- After each answer: the time, the title, the held rows, focus after an action --
  let actionRow = null; // {id, next, previous}: the row whose button was pressed

  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    const row = elt.closest && elt.closest("#task-table tbody tr[id]");
    if (!row || event.defaultPrevented) return;
    const next = row.nextElementSibling;
    const previous = row.previousElementSibling;
    actionRow = { id: row.id, next: next && next.id, previous: previous && previous.id };
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const section = table();
    if (event.detail.successful && section && event.detail.target === section) {
      lastUpdated = new Date();
      render();
    }
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target !== table()) return;
    showHeldRows();
    holdNewRows = false;
    if (actionRow && requester(event) !== table()) {
      focusRowAfterAction(actionRow);
      actionRow = null;
    }
    render();
  });

  // A pressed Cancel turns into Retry or Delete under the morph: focus goes to the
  // row's id link, so a second press of Enter cannot retry what was just cancelled.
  // If the row is gone (deleted), its neighbour takes focus, else the table heading.
  function focusRowAfterAction(aimed) {
    for (const id of [aimed.id, aimed.next, aimed.previous]) {
      const row = id && byId(id);
      const link = row && row.querySelector("a[href]");
      if (link) {
        link.focus();
        return;
      }
    }
    const heading = byId("tasks-heading");
    if (heading) heading.focus();
  }

  function showHeldRows() {
    // Held rows the newest answer no longer has arrive on the next unheld swap anyway;
    // count only what this answer brought, so the line never overstates.
    const notice = byId("live-new-rows");
    if (!notice) return;
    const count = holdNewRows ? heldRows : 0;
    heldRows = 0;
    notice.hidden = count === 0;
    notice.textContent = count === 1 ? "1 new task: show" : `${count} new tasks: show`;
  }

  function bringInHeldRows() {
    const section = table();
    const notice = byId("live-new-rows");
    if (!section || !notice) return;
    // A stale `since` makes the server answer with the whole table; the request comes
    // from the notice, not the table, so nothing is held back this time.
    const url = new URL(section.getAttribute("hx-get"), location.href);
    url.searchParams.set("since", "show-new-rows");
    htmx.ajax("GET", url.pathname + url.search, {
      source: notice,
      target: section,
      swap: "morph:outerHTML",
    });
    notice.hidden = true;
    const heading = byId("tasks-heading");
    if (heading) {
      heading.scrollIntoView({ block: "start" });
      heading.focus();
    }
  }

  // --- The controls: pause / resume, last updated, title -----------------------------
  function render() {
    const controls = byId("live-controls");
    if (!controls) return;
    controls.hidden = false;
    const toggle = byId("live-toggle");
    toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
    const time = byId("live-updated");
    time.dateTime = lastUpdated.toISOString();
    time.textContent = lastUpdated.toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false, // as the table's own times
    });
    byId("live-state").textContent = paused ? "Paused." : "Live.";
    document.title = paused ? `Paused · ${baseTitle}` : liveTitle();
  }

  function liveTitle() {
    const count = (status) => {
      const element = document.querySelector(`#counters .status-${status} .count`);
      return element ? Number(element.textContent) : 0;
    };
    const parts = [];
    if (count("started")) parts.push(`${count("started")} running`);
    if (count("failure")) parts.push(`${count("failure")} failed`);
    return parts.length ? `(${parts.join(", ")}) ${baseTitle}` : baseTitle;
  }

  function start() {
    if (!byId("live-controls") || !table()) return;
    byId("live-toggle").addEventListener("click", () => {
      paused = !paused;
      if (paused) sessionStorage.setItem(PAUSED_KEY, "yes");
      else sessionStorage.removeItem(PAUSED_KEY);
      render();
      if (!paused) refreshNow();
    });
    byId("live-new-rows").addEventListener("click", bringInHeldRows);
    render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
