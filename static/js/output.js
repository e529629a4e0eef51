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

  // htmx:afterSwap fires on the new content in the same task as the swap, before the
  // browser paints: the panel never shows at its top in between (htmx:load waits for
  // the settle delay, and a reader - or a test - could see the gap).
  document.addEventListener("htmx:afterSwap", (event) => {
    const element = panel();
    if (!element || !(event.target instanceof Node) || !event.target.contains(element)) return;
    element.scrollTop = following ? element.scrollHeight : scrolledTo;
  });

  const element = panel();
  if (element) element.scrollTop = element.scrollHeight;
})();
