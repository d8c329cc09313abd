// The review queue: one focused suggestion at a time, decided with a key or a button, without a
// reload. Pending suggestions come from the API uncertain-first; a decision PATCHes
// suggestions/{id}/ and moves on. User text only ever goes in through textContent.

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 25; // suggestions per request; more load as the coder reaches the end

const state = {
  api: "",
  codeUrl: "",
  canDecide: false,
  canTrain: false,
  codes: new Map(),
  items: [], // the loaded suggestions, in the API's order
  index: 0,
  total: 0, // pending suggestions matching the filters, as the API counted them
  next: null, // the next page's URL
  busy: false,
  counts: { pending: 0, accepted: 0, rejected: 0 },
};

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) return decodeURIComponent(m[1]);
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

async function api(method, path, body) {
  // Absolute URLs (a job's `url`, a page's `next`) as given; others under the project's API.
  const url = /^(https?:)?\//.test(path) ? path : state.api + path;
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const messages = ((payload && payload.errors) || []).map((e) => e.message).join(" ");
    const error = new Error(messages || (payload && payload.detail) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return payload;
}

function announce(message) {
  const live = $("sg-live");
  live.textContent = "";
  window.setTimeout(() => (live.textContent = message), 20);
}

function showError(message) {
  const box = $("sg-error");
  box.textContent = message;
  box.hidden = false;
  window.clearTimeout(showError.timer);
  showError.timer = window.setTimeout(() => (box.hidden = true), 8000);
}

function percent(score) {
  return Math.round(Math.max(0, Math.min(1, Number(score) || 0)) * 100);
}

/** Path for document `id` from a URL rendered with document 0 (its last "/0/"). */
function urlFor(template, id) {
  const at = template.lastIndexOf("/0/");
  return at < 0 ? template : `${template.slice(0, at)}/${id}/${template.slice(at + 3)}`;
}

function methodWords(item) {
  if (item.method === "pattern") {
    const code = state.codes.get(item.code);
    const rule = code && item.pattern !== null && code.patterns[item.pattern];
    return rule ? `Pattern rule “${rule}”` : "Pattern rule";
  }
  if (item.method === "model") return item.model_version ? `Model version ${item.model_version}` : "Model";
  if (item.method === "similar") return "Similar to a coded passage";
  return item.method;
}

function filters() {
  const params = new URLSearchParams({ status: "pending", page_size: String(PAGE_SIZE) });
  for (const name of ["code", "document", "method"]) {
    const value = $(`sg-filter-${name}`).value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

function paintCounts() {
  for (const key of ["pending", "accepted", "rejected"]) $(`sg-count-${key}`).textContent = String(state.counts[key]);
}

// --- the card ------------------------------------------------------------------------------------

function render() {
  const card = $("sg-card");
  const item = state.items[state.index];
  $("sg-queue").setAttribute("aria-busy", "false");
  $("sg-loading").hidden = true;
  if (!item) {
    card.hidden = true;
    showEmpty();
    return;
  }
  $("sg-empty").hidden = true;
  card.hidden = false;
  card.dataset.id = String(item.id);
  card.dataset.status = item.status;
  const code = state.codes.get(item.code) || { name: item.code_name, path: item.code_name, color: "#888888" };
  $("sg-card-where").textContent = where(item);
  $("sg-card-swatch").style.setProperty("--c", code.color);
  $("sg-card-code").textContent = code.path || item.code_name;
  $("sg-card-code").title = code.path;
  $("sg-card-score").textContent = `${percent(item.score)}%`;
  $("sg-card-bar").style.width = `${percent(item.score)}%`;
  $("sg-card-method").textContent = methodWords(item);
  $("sg-card-before").textContent = item.context_before ? `…${item.context_before}` : "";
  $("sg-card-text").textContent = item.text;
  $("sg-card-text").style.setProperty("--c", code.color);
  $("sg-card-after").textContent = item.context_after ? `${item.context_after}…` : "";
  const doc = $("sg-card-doc");
  doc.textContent = item.document_title;
  doc.href = item.excerpt ? `${urlFor(state.codeUrl, item.document)}?excerpt=${item.excerpt}` : urlFor(state.codeUrl, item.document);
  const decision = $("sg-card-decision");
  decision.hidden = item.status === "pending";
  decision.className = `sg-decision sg-decision--${item.status}`;
  decision.textContent = item.status === "accepted" ? "✓ Accepted: excerpt created" : item.status === "rejected" ? "✗ Rejected" : "";
  const pending = item.status === "pending";
  if ($("sg-accept")) $("sg-accept").disabled = !pending || state.busy;
  if ($("sg-reject")) $("sg-reject").disabled = !pending || state.busy;
  $("sg-prev").disabled = state.index === 0;
  $("sg-next").disabled = state.index >= state.items.length - 1 && !state.next;
}

/** "Suggestion 2 of 14 pending", counting only the pending ones (decided ones stay in the
 * loaded list so k can go back to them). */
function where(item) {
  if (item.status !== "pending") return `Decided · ${state.total} still pending`;
  const before = state.items.slice(0, state.index).filter((i) => i.status === "pending").length;
  return `Suggestion ${before + 1} of ${Math.max(state.total, before + 1)} pending · least certain first`;
}

function showEmpty() {
  const box = $("sg-empty");
  box.hidden = false;
  const hasModel = $("sg").dataset.hasModel === "1";
  const filtered = ["code", "document", "method"].some((name) => $(`sg-filter-${name}`).value);
  if (filtered) {
    $("sg-empty-title").textContent = "Nothing pending for these filters";
    $("sg-empty-text").textContent = "Choose other filters to see more suggestions.";
  } else if (hasModel || state.counts.accepted + state.counts.rejected > 0) {
    $("sg-empty-title").textContent = "Nothing pending";
    $("sg-empty-text").textContent = `Every suggestion has been decided. New ones appear as documents are imported${state.canDecide ? ", or look for new ones now" : ""}.${
      hasModel ? "" : " Training the assistant lets it suggest from the coding done so far."
    }`;
  } else {
    $("sg-empty-title").textContent = "No suggestions yet";
    $("sg-empty-text").textContent = state.canTrain
      ? "Code a few passages (passages that read like them are then suggested), add pattern rules to codes on the codebook page, or train the assistant on the coding done so far (“Train the assistant” above)."
      : "The assistant has not been trained yet. Coded passages bring suggestions of passages that read like them; someone who edits the codebook can add pattern rules or train it.";
  }
}

// --- loading -------------------------------------------------------------------------------------

async function load() {
  state.busy = false;
  $("sg-queue").setAttribute("aria-busy", "true");
  try {
    const page = await api("GET", `suggestions/?${filters()}`);
    state.items = page.results || [];
    state.total = page.count || state.items.length;
    state.next = page.next || null;
    state.index = 0;
  } catch (error) {
    showError(`Could not load the suggestions: ${error.message}`);
    state.items = [];
  }
  render();
}

async function loadMore() {
  if (!state.next) return false;
  try {
    const page = await api("GET", state.next);
    const seen = new Set(state.items.map((i) => i.id));
    state.items.push(...(page.results || []).filter((i) => !seen.has(i.id)));
    state.next = page.next || null;
    return true;
  } catch (error) {
    showError(`Could not load more suggestions: ${error.message}`);
    return false;
  }
}

// --- moving and deciding -------------------------------------------------------------------------

async function move(step) {
  if (step > 0 && state.index >= state.items.length - 1) await loadMore();
  const to = Math.max(0, Math.min(state.items.length - 1, state.index + step));
  if (to === state.index) return;
  state.index = to;
  render();
}

/** The next pending suggestion after the current one, loading more (or a fresh first page, since
 * decided ones leave the queue) when the loaded ones are all decided. */
async function advance() {
  for (;;) {
    for (let i = state.index + 1; i < state.items.length; i++) {
      if (state.items[i].status === "pending") {
        state.index = i;
        render();
        return;
      }
    }
    if (!(await loadMore())) break;
  }
  const first = state.items.findIndex((i) => i.status === "pending");
  if (first < 0) {
    await load(); // a fresh first page: others may have added some; else the empty state
    return;
  }
  state.index = first;
  render();
}

async function decide(status) {
  const item = state.items[state.index];
  if (!state.canDecide || !item || item.status !== "pending" || state.busy) return;
  state.busy = true;
  render();
  try {
    const saved = await api("PATCH", `suggestions/${item.id}/`, { status });
    Object.assign(item, saved);
    state.counts.pending = Math.max(0, state.counts.pending - 1);
    state.counts[status] += 1;
    state.total = Math.max(0, state.total - 1);
    paintCounts();
    const code = state.codes.get(item.code);
    announce(`${status === "accepted" ? "Accepted" : "Rejected"}: ${code ? code.name : item.code_name}`);
    state.busy = false;
    await advance();
  } catch (error) {
    state.busy = false;
    render();
    showError(`Not saved: ${error.message}`);
  }
}

// --- jobs: training and looking for suggestions --------------------------------------------------

async function followJob(job, label, done) {
  const box = $("sg-job");
  const bar = $("sg-job-bar");
  const text = $("sg-job-text");
  box.hidden = false;
  const url = job.url || `/api/v1/jobs/${job.id}/`;
  let current = job;
  for (let tries = 0; tries < 1800; tries++) {
    bar.value = Math.round((current.progress || 0) * 100);
    text.textContent = `${label}: ${current.message || current.status} (${bar.value}%)`;
    if (current.status === "succeeded" || current.status === "failed") break;
    await new Promise((resolve) => window.setTimeout(resolve, 1000));
    try {
      current = await api("GET", url);
    } catch (error) {
      text.textContent = `${label}: could not read its progress (${error.message})`;
      return;
    }
  }
  if (current.status === "failed") {
    text.textContent = `${label} failed: ${current.error || current.message || "see the job"}`;
    return;
  }
  bar.value = 100;
  await done(current);
}

/** Pending, accepted and rejected counts from the API (three one-row pages). */
async function refreshCounts() {
  try {
    for (const key of ["pending", "accepted", "rejected"]) {
      const page = await api("GET", `suggestions/?status=${key}&page_size=1`);
      state.counts[key] = page.count || 0;
    }
    paintCounts();
  } catch {
    // The counts stay as they were; the queue itself is right.
  }
}

/** After training: say which version is ready and show the suggestions it made. */
async function trained(job) {
  const result = job.result || {};
  const version = result.version ? ` version ${result.version}` : "";
  const passages = result.trained_on && result.trained_on.passages;
  $("sg-job-text").textContent = `Trained model${version}${passages ? ` on ${passages} passages` : ""}. Its figures per code appear below after a reload.`;
  $("sg-model-line").textContent = `Model${version} is ready: its suggestions are in the queue.`;
  $("sg").dataset.hasModel = "1";
  announce("The assistant is trained");
  await load();
  await refreshCounts();
}

async function train() {
  if (!state.canTrain || state.training) return;
  state.training = true;
  const button = $("sg-train");
  if (button) button.disabled = true;
  try {
    const made = await api("POST", "suggesters/", {});
    announce("Training the assistant");
    await followJob(made.job || made, "Training the assistant", trained);
  } catch (error) {
    showError(`Could not train: ${error.message}`);
  } finally {
    state.training = false;
    if (button) button.disabled = false;
  }
}

async function generate() {
  const button = $("sg-generate");
  if (button) button.disabled = true;
  try {
    const made = await api("POST", "suggestions/generate/", {});
    await followJob(made.job || made, "Looking for suggestions", async () => {
      $("sg-job-text").textContent = "Done.";
      await load();
      await refreshCounts();
    });
  } catch (error) {
    showError(`Could not look for suggestions: ${error.message}`);
  } finally {
    if (button) button.disabled = false;
  }
}

// --- keys ----------------------------------------------------------------------------------------

function onKey(ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target.closest && ev.target.closest("input, textarea, select, [contenteditable]")) return;
  const actions = {
    a: () => decide("accepted"),
    r: () => decide("rejected"),
    j: () => move(1),
    k: () => move(-1),
    t: () => train(),
  };
  const action = actions[ev.key];
  if (!action) return;
  ev.preventDefault();
  action();
}

function start() {
  const root = $("sg");
  if (!root) return;
  state.api = root.dataset.api;
  state.codeUrl = root.dataset.codeUrl;
  state.canDecide = root.dataset.canDecide === "1";
  state.canTrain = root.dataset.canTrain === "1";
  const codes = JSON.parse($("sg-codes").textContent);
  state.codes = new Map(codes.map((c) => [c.id, c]));
  for (const key of ["pending", "accepted", "rejected"]) state.counts[key] = Number($(`sg-count-${key}`).textContent) || 0;
  document.addEventListener("keydown", onKey);
  // Filters apply on change; no inline onsubmit, as the Content-Security-Policy forbids it.
  $("sg-filters").addEventListener("submit", (ev) => ev.preventDefault());
  if ($("sg-accept")) $("sg-accept").addEventListener("click", () => decide("accepted"));
  if ($("sg-reject")) $("sg-reject").addEventListener("click", () => decide("rejected"));
  $("sg-prev").addEventListener("click", () => move(-1));
  $("sg-next").addEventListener("click", () => move(1));
  if ($("sg-train")) $("sg-train").addEventListener("click", train);
  if ($("sg-generate")) $("sg-generate").addEventListener("click", generate);
  const wanted = new URLSearchParams(window.location.search);
  for (const name of ["code", "document", "method"]) {
    const select = $(`sg-filter-${name}`);
    // A link may preset a filter (the workspace's "Suggestions for this document").
    if (wanted.get(name) && Array.from(select.options).some((o) => o.value === wanted.get(name))) select.value = wanted.get(name);
    select.addEventListener("change", load);
  }
  const running = root.dataset.trainingJob;
  if (running) {
    followJob({ id: running, status: "running", progress: 0 }, "Training the assistant", trained);
  }
  load().then(() => {
    window.suggestionsReady = true;
    document.documentElement.dataset.suggestionsReady = "1";
  });
}

start();
