// Codebook page, two small comforts on top of forms that work without it:
// 1. After htmx swaps #codebook, keyboard focus goes back where it was (tree links keep their
//    ids across renders), else to the new status or error message, so keyboard and
//    screen-reader users keep their place instead of landing at the top of the page.
// 2. Editors may drag a code onto another code (or onto the column headings: top level) to
//    move it; the drop posts the same "move" form the "Move to…" menu posts.
// 3. The pattern editor gets "Add a rule" and "Remove" buttons (without JavaScript, the blank
//    last row adds a rule and emptying a rule removes it); the live preview itself is htmx
//    (hx-trigger on the editor's input events) and needs nothing here but a nudge on removal.
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

  const PLACEHOLDERS = {
    keyword: "refund",
    phrase: "bill shock",
    tokens: '[{"LEMMA": "charge"}, {"LOWER": "twice"}]',
  };
  function showPatternButtons() {
    document
      .querySelectorAll("#cb-patterns-form [data-pattern-add], #cb-patterns-form [data-pattern-remove]")
      .forEach((button) => {
        button.hidden = false;
      });
  }
  document.addEventListener("DOMContentLoaded", showPatternButtons);
  document.addEventListener("htmx:afterSwap", showPatternButtons);
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) return;
    const form = button.closest("#cb-patterns-form");
    if (!form) return;
    const list = form.querySelector("[data-pattern-list]");
    const template = document.getElementById("cb-pattern-row");
    if (button.hasAttribute("data-pattern-add") && list && template) {
      // An empty row is already a new rule: fill that one before adding another.
      const empty = Array.from(list.querySelectorAll("[data-pattern-row] textarea")).find(
        (area) => !area.value.trim()
      );
      if (empty) {
        empty.focus();
        return;
      }
      list.appendChild(template.content.cloneNode(true));
      showPatternButtons();
      const rows = list.querySelectorAll("[data-pattern-row]");
      rows[rows.length - 1].querySelector("select").focus();
    } else if (button.hasAttribute("data-pattern-remove")) {
      const row = button.closest("[data-pattern-row]");
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      if (list && !list.querySelector("[data-pattern-row]") && template) {
        list.appendChild(template.content.cloneNode(true));
        showPatternButtons();
      }
      const focus = next ? next.querySelector("textarea") : form.querySelector("textarea");
      if (focus) focus.focus();
      form.dispatchEvent(new Event("pattern-edit", { bubbles: true }));
    }
  });
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.classList.contains("cb-pattern__type")) return;
    const value = select.closest("[data-pattern-row]").querySelector("textarea");
    value.placeholder = PLACEHOLDERS[select.value] || "";
    value.rows = select.value === "tokens" ? 3 : 1;
  });
})();
