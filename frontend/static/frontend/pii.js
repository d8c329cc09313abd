// Personal-data review: after a decision swaps a row in place (htmx), move the keyboard focus to
// the next row's first button, so an owner can work down the list without the mouse.
// Without JavaScript the forms post and the page reloads at the decided row instead.
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var row = event.detail && event.detail.elt;
    if (!row || !row.classList || !row.classList.contains("pii-cand")) {
      // htmx reports the swapped element as `target`; its replacement is found by id.
      var target = event.detail && event.detail.target;
      row = target && target.id ? document.getElementById(target.id) : null;
    }
    if (!row || !row.classList.contains("pii-cand")) {
      return;
    }
    var rows = Array.prototype.slice.call(document.querySelectorAll(".pii-cand"));
    var next = rows[rows.indexOf(row) + 1];
    var button = next && next.querySelector("button");
    if (button) {
      button.focus();
    }
  });
})();
