// Times in the viewer's own zone. The server writes each moment as
// <time datetime="ISO 8601">, its text the server's clock with the zone named (what
// readers without JavaScript see). This rewrites the text in the browser's zone, with
// the date when it is not today, and keeps relative times ("2 min ago", "in 12 s")
// current. The live table is shared by every viewer, so nothing per-viewer can come
// from the server: it all happens here, again after every swap.
(function () {
  "use strict";

  function pad(n, width) {
    return String(n).padStart(width || 2, "0");
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function clock(moment, precise, short) {
    var text = pad(moment.getHours()) + ":" + pad(moment.getMinutes());
    if (short) return text;
    text += ":" + pad(moment.getSeconds());
    return precise ? text + "." + pad(moment.getMilliseconds(), 3) : text;
  }

  function absolute(moment, now, precise, short) {
    var time = clock(moment, precise, short);
    if (sameDay(moment, now)) return time;
    var options = { month: "short", day: "numeric" };
    if (moment.getFullYear() !== now.getFullYear()) options.year = "numeric";
    return moment.toLocaleDateString(undefined, options) + ", " + time;
  }

  function span(seconds) {
    seconds = Math.round(Math.abs(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.round(minutes / 60);
    if (hours < 48) return hours + " h";
    return Math.round(hours / 24) + " days";
  }

  function relative(moment, now) {
    var seconds = (moment - now) / 1000;
    if (Math.abs(seconds) < 1) return "just now";
    return seconds > 0 ? "in " + span(seconds) : span(seconds) + " ago";
  }

  function render(element, now) {
    // <time datetime>, or data-datetime where no <time> can go (SVG text).
    var moment = new Date(element.getAttribute("datetime") || element.getAttribute("data-datetime"));
    if (isNaN(moment)) return;
    var precise = element.hasAttribute("data-precise");
    var short = element.hasAttribute("data-short");
    var mode = element.getAttribute("data-relative");
    var full = moment.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
    var text;
    if (mode === "in") {
      // A moment people wait for ("next try in 12 s"): how long, the clock on hover.
      text = moment - now >= 1000 ? relative(moment, now) : "any moment now";
    } else if (mode === "ago") {
      text = absolute(moment, now, precise, short) + " · " + relative(moment, now);
    } else if (element.namespaceURI === "http://www.w3.org/2000/svg") {
      text = clock(moment, false, short); // an axis: no room for a date
    } else {
      text = absolute(moment, now, precise, short);
    }
    // Only write what changed: the observer below sees our own writes too.
    if (element.textContent !== text) element.textContent = text;
    if (element.getAttribute("title") !== full && element.namespaceURI !== "http://www.w3.org/2000/svg") {
      element.setAttribute("title", full);
    }
    if (!element.hasAttribute("data-localized")) element.setAttribute("data-localized", "");
  }

  function renderAll() {
    var now = new Date();
    document.querySelectorAll("time[datetime], [data-datetime]").forEach(function (element) {
      render(element, now);
    });
  }

  var pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      renderAll();
    });
  }

  function start() {
    renderAll();
    // Every swap (polls, navigation, history restore, morphs) brings new server text.
    new MutationObserver(soon).observe(document.body, { childList: true, subtree: true, characterData: true });
    window.setInterval(renderAll, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
