// Codebook page, two small comforts on top of forms that work without it:
// 1. After htmx swaps #codebook, keyboard focus goes back where it was (tree links keep their
//    ids across renders), else to the new status or error message, so keyboard and
//    screen-reader users keep their place instead of landing at the top of the page.
// 2. Editors may drag a code onto another code (or onto the column headings: top level) to
//    move it; the drop posts the same "move" form the "Move to…" menu posts.
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

  let dragged = null;
  const dropTarget = (event) =>
    event.target instanceof Element ? event.target.closest("#codebook [data-code]") : null;
  document.addEventListener("dragstart", function (event) {
    const row = event.target instanceof Element ? event.target.closest("[data-move-url]") : null;
    if (!row) return;
    dragged = row;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.code);
  });
  document.addEventListener("dragover", function (event) {
    const over = dropTarget(event);
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    document.querySelectorAll(".cb-drop").forEach((el) => el.classList.remove("cb-drop"));
    over.classList.add("cb-drop");
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".cb-drop").forEach((el) => el.classList.remove("cb-drop"));
  });
  document.addEventListener("drop", function (event) {
    const over = dropTarget(event);
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    window.htmx.ajax("POST", dragged.dataset.moveUrl, {
      source: document.getElementById("codebook"),
      target: "#codebook",
      values: { action: "move", parent: over.dataset.code },
    });
    dragged = null;
  });
})();
