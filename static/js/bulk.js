// Bulk selection: "select all on this page", the count of ticked rows, and ticks that
// survive the live table's refreshes.
//
// The boxes are plain form fields of #bulk-form (form= attributes), so without this
// file the selection still posts. The polled table is shared by every reader, so the
// server always renders them unticked; the morph leaves a box's checked state alone,
// and it stays the reader's until they leave the page, filter or page elsewhere.
(function () {
  "use strict";

  const boxes = (kind) =>
    Array.from(document.querySelectorAll(`#task-table input[data-bulk-select="${kind}"]`));
  const byId = (id) => document.getElementById(id);
  const table = () => byId("task-table");

  if (window.Idiomorph) {
    const callbacks = window.Idiomorph.defaults.callbacks;
    const before = callbacks.beforeAttributeUpdated;
    callbacks.beforeAttributeUpdated = (name, element, how) =>
      name === "checked" && element.matches && element.matches("input[data-bulk-select]")
        ? false
        : before(name, element, how);
  }

  function showCount() {
    const count = byId("bulk-count");
    if (!count) return;
    const matching = boxes("matching").find((box) => box.checked);
    const rows = boxes("row").filter((box) => box.checked).length;
    const page = boxes("page")[0];
    if (page) {
      const all = boxes("row");
      page.checked = all.length > 0 && rows === all.length;
      page.indeterminate = rows > 0 && rows < all.length;
    }
    if (matching) {
      count.textContent = ` (${matching.closest("label").textContent.trim().replace(/^Select /, "")})`;
    } else {
      count.textContent = rows ? ` (${rows})` : "";
    }
  }

  function clearSelection() {
    for (const kind of ["row", "page", "matching"]) {
      for (const box of boxes(kind)) box.checked = false;
    }
    showCount();
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.matches || !box.matches("input[data-bulk-select]")) return;
    if (box.dataset.bulkSelect === "page") {
      for (const row of boxes("row")) row.checked = box.checked;
    }
    if (box.dataset.bulkSelect === "matching" && box.checked) {
      for (const row of [...boxes("row"), ...boxes("page")]) row.checked = true;
    }
    if (box.dataset.bulkSelect !== "matching" && !box.checked) {
      for (const all of boxes("matching")) all.checked = false;
    }
    showCount();
  });

  // Ticks stay while the table shows the same filter (polls, a repeated filter request
  // as the search box loses focus, an action on a row): rows that leave take theirs
  // along. Another filter is another selection, so it starts again.
  let shownFilter = table() && table().dataset.bulkFilter;
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === "task-table") {
      const filter = table() && table().dataset.bulkFilter;
      if (filter !== shownFilter) clearSelection();
      shownFilter = filter;
      if (boxes("matching").some((box) => box.checked)) {
        for (const row of boxes("row")) row.checked = true;
      }
      showCount();
    }
    // A confirmed job starts: the ticks did their work.
    if (target && target.id === "bulk-status" && byId("bulk-job")) clearSelection();
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-bulk-dismiss]");
    if (!button) return;
    const region = byId("bulk-status");
    region.replaceChildren();
    byId("bulk-form")?.querySelector("button")?.focus();
  });
})();
