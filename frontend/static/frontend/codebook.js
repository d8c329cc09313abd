// Codebook page: after htmx swaps #codebook, put keyboard focus back where it was (tree links
// keep their ids across renders), else on the new status or error message, so keyboard and
// screen-reader users keep their place instead of landing at the top of the page.
(function () {
  "use strict";
  let lastId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    const active = document.activeElement;
    lastId = active && active.id ? active.id : null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "codebook") return;
    const again = lastId ? document.getElementById(lastId) : null;
    const message = document.querySelector("#codebook [role=alert], #codebook [role=status]");
    const target = again || message;
    if (!target) return;
    if (!again) target.setAttribute("tabindex", "-1");
    target.focus();
  });
})();
