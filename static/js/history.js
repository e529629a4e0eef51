// The filter form and the header's JSON link follow the address bar. htmx restores
// Back/Forward from a snapshot of the page's markup, and markup does not hold what a
// <select> shows now, only what it showed when first rendered: so after a restore
// the controls are set again from the URL, which is what the table shows.
(function () {
  "use strict";

  // The view's parameters (context_processors.VIEW_PARAMETERS).
  var VIEW = ["status", "kind", "q", "before", "sort", "size"];

  function syncFilters(params) {
    var form = document.getElementById("filters");
    if (!form) return;
    form.querySelectorAll("select[name], input[name]").forEach(function (control) {
      if (control.name === "csrfmiddlewaretoken" || control.type === "submit") return;
      var value = params.get(control.name);
      if (value === null) value = control.getAttribute("data-default") || "";
      control.value = value;
      if (control.tagName === "SELECT" && control.value !== value) {
        // A value the list does not offer (typed into the URL): show the default.
        control.value = control.getAttribute("data-default") || "";
      }
    });
  }

  function syncJsonLink(params) {
    var link = document.getElementById("json-link");
    if (!link || window.location.pathname !== "/") return;
    var kept = new URLSearchParams();
    VIEW.forEach(function (name) {
      var value = params.get(name);
      if (value) kept.set(name, value);
    });
    kept.set("format", "json");
    link.setAttribute("href", "/tasks/?" + kept.toString());
  }

  function sync() {
    var params = new URLSearchParams(window.location.search);
    syncFilters(params);
    syncJsonLink(params);
  }

  document.addEventListener("htmx:historyRestore", sync);
  document.addEventListener("htmx:pushedIntoHistory", function () {
    syncJsonLink(new URLSearchParams(window.location.search));
  });
  // Chromium's back/forward cache may bring the page back as it was left.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) sync();
  });
})();
