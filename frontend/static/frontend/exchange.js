// Exchange page: while an import job runs, show its progress from the jobs API and reload the
// page (which renders the report) when it ends. Without this script the page says "Reload".
(function () {
  "use strict";
  var box = document.getElementById("refi-job");
  if (!box || box.dataset.finished === "1" || !window.fetch) return;
  var bar = document.getElementById("refi-job-bar");
  var text = document.getElementById("refi-job-text");
  var tries = 0;

  function poll() {
    tries += 1;
    fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("error " + response.status);
        return response.json();
      })
      .then(function (job) {
        var percent = Math.round((job.progress || 0) * 100);
        bar.value = percent;
        text.textContent = (job.message || job.status) + " (" + percent + "%)";
        if (job.status === "succeeded" || job.status === "failed") {
          window.location.reload();
        } else if (tries < 3600) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function (error) {
        text.textContent = "Could not read the import's progress (" + error.message + "); reload to see it.";
      });
  }

  window.setTimeout(poll, 500);
})();
