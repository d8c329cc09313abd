// Hypotheses page: show only the fields of the chosen comparison (segment or metric). Without
// this script every field shows and the server ignores the ones that do not apply.
(function () {
  "use strict";
  const form = document.querySelector(".hyp-form__form");
  if (!form) return;
  function sync() {
    const checked = form.querySelector('input[name="kind"]:checked');
    const kind = checked ? checked.value : "segment";
    form.querySelectorAll(".hyp-if-segment").forEach((el) => { el.hidden = kind !== "segment"; });
    form.querySelectorAll(".hyp-if-metric").forEach((el) => { el.hidden = kind !== "metric"; });
  }
  form.querySelectorAll('input[name="kind"]').forEach((el) => el.addEventListener("change", sync));
  sync();
})();
