// The dashboard: after htmx loads the quotes behind a cell into #dash-drill, mark that cell as
// the current one and move focus (and the view) to the quotes. Without JavaScript the cells are
// plain links to the same quotes on their own page.

const panel = document.getElementById("dash-drill");

function current(elt) {
  for (const other of document.querySelectorAll("[data-dash-current]")) {
    other.removeAttribute("aria-current");
    delete other.dataset.dashCurrent;
  }
  if (elt) {
    elt.setAttribute("aria-current", "true");
    elt.dataset.dashCurrent = "1";
  }
}

if (panel) {
  document.body.addEventListener("htmx:beforeRequest", (ev) => {
    if (ev.detail.target === panel) panel.setAttribute("aria-busy", "true");
  });
  document.body.addEventListener("htmx:afterSwap", (ev) => {
    if (ev.detail.target !== panel) return;
    panel.removeAttribute("aria-busy");
    current(ev.detail.requestConfig && ev.detail.requestConfig.elt);
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
    window.dashboardDrilled = (window.dashboardDrilled || 0) + 1;
  });
  document.body.addEventListener("htmx:responseError", (ev) => {
    if (ev.detail.target !== panel) return;
    panel.removeAttribute("aria-busy");
    const p = document.createElement("p");
    p.className = "alert alert--error";
    p.setAttribute("role", "alert");
    p.textContent = "Could not load the quotes. Open the cell's link in a new tab to try again.";
    panel.replaceChildren(p);
  });
}
