// The task page's output panel follows its end as lines arrive, unless the reader
// scrolled up to read: then it stays where they are.
//
// The page's poll (hx-trigger in the markup) replaces the whole #task-detail section,
// panel included; this file only carries the panel's scroll position across that swap.
(function () {
  "use strict";

  const panel = () => document.getElementById("task-output");
  const atEnd = (element) => element.scrollHeight - element.scrollTop - element.clientHeight < 8;
  let following = true;
  let scrolledTo = 0;

  document.addEventListener("htmx:beforeSwap", (event) => {
    const element = panel();
    const target = event.detail.target;
    if (!element || !target || !target.contains(element)) return;
    following = atEnd(element);
    scrolledTo = element.scrollTop;
  });

  // htmx:load fires on the new content of every swap (and bubbles, unlike the
  // events of the section that an outerHTML swap removed).
  document.addEventListener("htmx:load", () => {
    const element = panel();
    if (element) element.scrollTop = following ? element.scrollHeight : scrolledTo;
  });

  const element = panel();
  if (element) element.scrollTop = element.scrollHeight;
})();
