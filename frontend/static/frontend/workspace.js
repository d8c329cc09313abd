// The coding workspace: selection -> offsets, layered highlights, the code picker, the excerpt
// panel, filters, memos. One ES module, no framework. Offsets are Python str indices (Unicode
// code points) into document.text; JS strings are UTF-16, so every conversion goes through
// cpLength / cpToUnit below.

/** Number of code points in a JS string (astral characters count once, as in Python). */
export function cpLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The UTF-16 index in `s` of code point `cp` (clipped to s.length). */
export function cpToUnit(s, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}

const WHITE = /\s/u;

function startHolder(node, root) {
  const el = node.nodeType === 1 ? node : node.parentElement;
  const holder = el && el.closest("[data-start]");
  return holder && root.contains(holder) ? holder : null;
}

/** Text nodes under `root` that hold document text (inside a [data-start] element), in order. */
function textNodes(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (startHolder(n, root) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
  });
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) out.push(n);
  return out;
}

/** The document offset of a point inside a text node that has a [data-start] holder. */
function textPointOffset(node, unit, root) {
  const holder = startHolder(node, root);
  const before = document.createRange();
  before.setStart(holder, 0);
  before.setEnd(node, unit);
  return Number(holder.dataset.start) + cpLength(before.toString());
}

/** The (text node, unit) a boundary point stands for: itself if it is in document text, else
 * the nearest document text after it (`forward`) or before it. */
function snap(node, unit, root, forward, nodes) {
  if (node.nodeType === 3 && startHolder(node, root)) return [node, unit];
  const list = nodes();
  const probe = document.createRange();
  probe.setStart(node, unit);
  if (forward) {
    for (const t of list) if (probe.comparePoint(t, t.length) >= 0 && t.length) return [t, 0];
    return null;
  }
  for (let k = list.length - 1; k >= 0; k--) {
    const t = list[k];
    if (probe.comparePoint(t, 0) <= 0 && t.length) return [t, t.length];
  }
  return null;
}

/**
 * The document offsets `{start, end}` (code points, end exclusive) a DOM range covers under
 * `root`, trimmed of white space at both ends; null if it covers no document text.
 * Works across turn boundaries and inside nested highlights: only text inside elements carrying
 * `data-start` counts, and each such element's `data-start` is the offset of its first character.
 */
export function selectionToOffsets(range, root) {
  if (!range || range.collapsed) return null;
  let cached = null;
  const nodes = () => (cached = cached || textNodes(root));
  const a = snap(range.startContainer, range.startOffset, root, true, nodes);
  const b = snap(range.endContainer, range.endOffset, root, false, nodes);
  if (!a || !b) return null;
  let start = textPointOffset(a[0], a[1], root);
  let end = textPointOffset(b[0], b[1], root);
  if (end <= start) return null;
  // Trim white space: walk characters from each end through the text nodes the range touches.
  const touched = nodes().filter((t) => range.intersectsNode(t));
  const pieces = touched.map((t) => {
    const from = t === a[0] ? a[1] : 0;
    const to = t === b[0] ? b[1] : t.length;
    return t.data.slice(from, Math.max(from, to));
  });
  const joined = pieces.join("");
  const chars = Array.from(joined);
  let i = 0;
  while (i < chars.length && WHITE.test(chars[i])) i++;
  let j = chars.length;
  while (j > i && WHITE.test(chars[j - 1])) j--;
  if (i === j) return null;
  if (chars.length === end - start) {
    end = start + j;
    start = start + i;
  } else {
    // Some text between was outside document text (should not happen); trim the ends only.
    end -= chars.length - j;
    start += i;
  }
  return end > start ? { start, end } : null;
}

/** The first highlight under `root` that paints excerpt `id` (a number), or null. */
export function markFor(root, id) {
  for (const mark of root.querySelectorAll(".ws-hl[data-ids]")) {
    if (mark.dataset.ids.split(",").map(Number).includes(id)) return mark;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The page. Everything below runs only on the workspace page (an element #ws is present).

const state = {
  api: "",
  docId: 0,
  user: "",
  canCode: false,
  canEditOthers: false,
  data: null, // the workspace payload
  codes: new Map(), // id -> code row (with .path)
  filter: { coder: "", code: "", mine: false },
};

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) return decodeURIComponent(m[1]);
  const body = document.body.getAttribute("hx-headers") || "{}";
  try {
    return JSON.parse(body)["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

async function api(method, path, body) {
  const response = await fetch(state.api + path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    // The field messages say what to fix; `detail` alone is often just "Invalid input."
    const messages = ((payload && payload.errors) || []).map((e) => e.message).join(" ");
    const detail = messages || (payload && payload.detail) || response.statusText;
    const error = new Error(detail);
    error.status = response.status;
    error.payload = payload; // a 409 carries the object as it is now in `current`
    throw error;
  }
  return payload;
}

const $ = (id) => document.getElementById(id);

function announce(message) {
  const live = $("ws-live");
  live.textContent = "";
  // A fresh text node each time, so screen readers announce a repeated message too.
  window.setTimeout(() => (live.textContent = message), 20);
}

function showError(message) {
  const box = $("ws-error");
  box.textContent = message;
  box.hidden = false;
  window.clearTimeout(showError.timer);
  showError.timer = window.setTimeout(() => (box.hidden = true), 8000);
}

function rgba(hex, alpha) {
  const n = parseInt((hex || "#4c78a8").slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function initials(name) {
  const words = name.split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? words.slice(0, 3).map((w) => Array.from(w)[0]) : Array.from(name).slice(0, 2);
  return letters.join("").toUpperCase();
}

function indexCodes(codes) {
  state.codes = new Map(codes.map((c) => [c.id, c]));
  for (const c of codes) {
    const names = [];
    for (let at = c, guard = 0; at && guard < 20; at = state.codes.get(at.parent), guard++) names.unshift(at.name);
    c.path = names.join(" › ");
  }
}

function visibleExcerpts() {
  const { coder, code, mine } = state.filter;
  return state.data.excerpts.filter(
    (e) => (!mine || e.coder === state.user) && (!coder || e.coder === coder) && (!code || String(e.code) === code),
  );
}

const TEXTS = new WeakMap(); // .ws-text element -> its original text and code-point length

/** Paint every highlight in one pass: per text element, a list of segments between excerpt
 * boundaries, each a span with its own data-start, so selections inside highlights still map. */
function holderInfo(holder) {
  if (!TEXTS.has(holder)) TEXTS.set(holder, { text: holder.textContent, len: cpLength(holder.textContent) });
  return TEXTS.get(holder);
}

/** Paint one text element from the excerpts that touch it. */
function paintHolder(holder, here) {
  const { text, len } = holderInfo(holder);
  const hStart = Number(holder.dataset.start);
  const hEnd = hStart + len;
  const section = holder.closest(".ws-turn");
  if (section) section.classList.toggle("ws-turn--coded", here.length > 0);
  if (!here.length) {
    if (holder.dataset.painted) {
      holder.textContent = text;
      delete holder.dataset.painted;
    }
    if (section) paintStripes(section, []);
    return;
  }
  const cuts = new Set([hStart, hEnd]);
  for (const e of here) {
    cuts.add(Math.max(hStart, e.start));
    cuts.add(Math.min(hEnd, e.end));
  }
  const points = Array.from(cuts).sort((x, y) => x - y);
  const astral = /[\ud800-\udfff]/.test(text);
  const unit = (cp) => (astral ? cpToUnit(text, cp - hStart) : cp - hStart);
  const frag = document.createDocumentFragment();
  for (let p = 0; p + 1 < points.length; p++) {
    const a = points[p];
    const b = points[p + 1];
    const piece = text.slice(unit(a), unit(b));
    const over = here.filter((e) => e.start <= a && e.end >= b);
    if (!over.length) {
      const plain = document.createElement("span");
      plain.dataset.start = String(a);
      plain.textContent = piece;
      frag.appendChild(plain);
    } else {
      frag.appendChild(segment(piece, a, over));
    }
  }
  holder.textContent = "";
  holder.appendChild(frag);
  holder.dataset.painted = "1";
  if (section) paintStripes(section, here);
}

/** Paint every highlight in one pass: per text element, a list of segments between excerpt
 * boundaries, each a span with its own data-start, so selections inside highlights still map.
 * With `span` ({start, end}), only the text elements overlapping it are repainted (a save). */
function paint(span) {
  const root = $("ws-doc");
  const visible = visibleExcerpts();
  $("ws-count").textContent = `${visible.length} excerpt${visible.length === 1 ? "" : "s"} shown`;
  const holders = Array.from(root.querySelectorAll(".ws-text"));
  if (span) {
    for (const holder of holders) {
      const hStart = Number(holder.dataset.start);
      const hEnd = hStart + holderInfo(holder).len;
      if (hEnd <= span.start || hStart >= span.end) continue;
      paintHolder(holder, visible.filter((e) => e.start < hEnd && e.end > hStart));
    }
    return;
  }
  const excerpts = visible.slice().sort((x, y) => x.start - y.start || x.end - y.end);
  let k = 0; // the first excerpt not yet taken into `active`
  let active = [];
  for (const holder of holders) {
    const hStart = Number(holder.dataset.start);
    const hEnd = hStart + holderInfo(holder).len;
    while (k < excerpts.length && excerpts[k].start < hEnd) active.push(excerpts[k++]);
    active = active.filter((e) => e.end > hStart);
    paintHolder(holder, active.filter((e) => e.start < hEnd));
  }
}

function describe(over) {
  return over
    .map((e) => {
      const code = state.codes.get(e.code);
      return `${code ? code.name : "?"} (${e.coder}${e.needs_review ? ", needs review" : ""})`;
    })
    .join("; ");
}

function segment(piece, start, over) {
  const mark = document.createElement("mark");
  mark.className = "ws-hl";
  mark.dataset.start = String(start);
  mark.dataset.ids = over.map((e) => e.id).join(",");
  mark.tabIndex = 0;
  const layers = over.slice(0, 4).map((e) => {
    const c = rgba((state.codes.get(e.code) || {}).color, 0.24);
    return `linear-gradient(${c}, ${c})`;
  });
  mark.style.backgroundImage = layers.join(", ");
  if (over.length > 1) mark.classList.add("ws-hl--overlap");
  if (over.some((e) => e.needs_review)) mark.classList.add("ws-hl--review");
  const starting = over.filter((e) => e.start === start);
  if (starting.length) mark.dataset.tag = starting.map((e) => initials((state.codes.get(e.code) || { name: "?" }).name)).join("·");
  mark.title = describe(over);
  mark.textContent = piece;
  return mark;
}

function paintStripes(section, here) {
  const box = section.querySelector(".ws-stripes");
  if (!box) return;
  const byCode = new Map();
  for (const e of here) {
    if (!byCode.has(e.code)) byCode.set(e.code, new Set());
    byCode.get(e.code).add(e.coder);
  }
  box.textContent = "";
  for (const [id, coders] of byCode) {
    const code = state.codes.get(id) || { name: "?", color: "#888888" };
    const stripe = document.createElement("span");
    stripe.className = "ws-stripe";
    stripe.style.setProperty("--c", code.color);
    stripe.title = `${code.name} · ${Array.from(coders).join(", ")}`;
    stripe.textContent = initials(code.name);
    box.appendChild(stripe);
  }
}

// --- tooltip on hover and focus --------------------------------------------------------------

function showTip(mark) {
  const tip = $("ws-tip");
  const ids = mark.dataset.ids.split(",").map(Number);
  const over = state.data.excerpts.filter((e) => ids.includes(e.id));
  tip.textContent = describe(over);
  tip.hidden = false;
  const r = mark.getBoundingClientRect();
  tip.style.left = `${Math.max(8, r.left + window.scrollX)}px`;
  tip.style.top = `${r.bottom + window.scrollY + 6}px`;
  mark.setAttribute("aria-describedby", "ws-tip");
}

function hideTip(mark) {
  $("ws-tip").hidden = true;
  if (mark) mark.removeAttribute("aria-describedby");
}

// --- the code picker ---------------------------------------------------------------------------

const picker = { open: false, offsets: null, quote: "", items: [], active: 0, scores: null, asked: 0 };

// The assistant's scores for the selection (suggesters/latest/predict/). Only a quick answer
// reorders the picker: a slow or failed one, or a project without a model, keeps the usual order.
const PREDICT_WAIT_MS = 400;
const assistant = { none: false }; // true once the API said no model is trained yet

function orderedCodes(filter) {
  const q = filter.trim().toLowerCase();
  const live = Array.from(state.codes.values()).filter((c) => !c.is_archived);
  let all;
  if (picker.scores) {
    const score = (c) => (picker.scores.has(c.id) ? picker.scores.get(c.id) : -1);
    all = live.sort((x, y) => score(y) - score(x) || x.path.localeCompare(y.path));
  } else {
    const recent = (state.data.recent_codes || []).map((id) => state.codes.get(id)).filter((c) => c && !c.is_archived);
    const recentIds = new Set(recent.map((c) => c.id));
    const rest = live.filter((c) => !recentIds.has(c.id)).sort((x, y) => x.path.localeCompare(y.path));
    all = [...recent, ...rest];
  }
  return q ? all.filter((c) => c.path.toLowerCase().includes(q)) : all;
}

/** Ask the model for the selected text's scores; reorder the open picker if it answers in time. */
async function askAssistant(text) {
  if (assistant.none || !text.trim()) return;
  const asked = ++picker.asked;
  const abort = new AbortController();
  const timer = window.setTimeout(() => abort.abort(), PREDICT_WAIT_MS);
  try {
    const response = await fetch(`${state.api}suggesters/latest/predict/`, {
      method: "POST",
      credentials: "same-origin",
      signal: abort.signal,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ texts: [text] }),
    });
    if (response.status === 404) assistant.none = true;
    if (!response.ok) return;
    const payload = await response.json();
    const ranked = (payload && payload.results && payload.results[0]) || [];
    if (!picker.open || asked !== picker.asked || !ranked.length) return;
    picker.scores = new Map(ranked.map((r) => [r.code, r.score]));
    picker.active = 0;
    renderPicker();
    $("ws-picker").dataset.ordered = "model";
  } catch {
    // Slow or unreachable: the picker keeps its usual order.
  } finally {
    window.clearTimeout(timer);
  }
}

function renderPicker() {
  const list = $("ws-picker-list");
  picker.items = orderedCodes($("ws-picker-input").value);
  picker.active = Math.min(picker.active, Math.max(0, picker.items.length - 1));
  list.textContent = "";
  const recentIds = new Set(state.data.recent_codes || []);
  picker.items.forEach((code, i) => {
    const li = document.createElement("li");
    li.id = `ws-opt-${code.id}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === picker.active));
    li.className = "ws-opt";
    const swatch = document.createElement("span");
    swatch.className = "ws-swatch";
    swatch.style.background = code.color;
    swatch.setAttribute("aria-hidden", "true");
    const key = document.createElement("kbd");
    key.textContent = i < 9 ? String(i + 1) : "";
    const name = document.createElement("span");
    name.className = "ws-opt__name";
    name.textContent = code.path;
    li.append(key, swatch, name);
    if (picker.scores && picker.scores.has(code.id)) {
      const tag = document.createElement("span");
      tag.className = "ws-opt__score";
      tag.title = "How likely the assistant thinks this code fits";
      tag.textContent = `${Math.round(picker.scores.get(code.id) * 100)}%`;
      li.appendChild(tag);
    } else if (recentIds.has(code.id)) {
      const tag = document.createElement("span");
      tag.className = "ws-opt__recent";
      tag.textContent = "recent";
      li.appendChild(tag);
    }
    li.addEventListener("mousedown", (ev) => {
      ev.preventDefault();
      applyCode(code);
    });
    list.appendChild(li);
  });
  if (!picker.items.length) {
    const li = document.createElement("li");
    li.className = "ws-opt ws-opt--none";
    li.textContent = "No code matches. Use “New code from selection”.";
    list.appendChild(li);
  }
  const current = picker.items[picker.active];
  $("ws-picker-input").setAttribute("aria-activedescendant", current ? `ws-opt-${current.id}` : "");
  const el = current && document.getElementById(`ws-opt-${current.id}`);
  if (el) el.scrollIntoView({ block: "nearest" });
}

function openPicker() {
  if (!state.canCode) return false;
  const sel = window.getSelection();
  if (!sel || !sel.rangeCount || sel.isCollapsed) return false;
  const range = sel.getRangeAt(0);
  const root = $("ws-doc");
  if (!root.contains(range.commonAncestorContainer)) return false;
  const offsets = selectionToOffsets(range, root);
  if (!offsets) return false;
  const text = state.data.document.text;
  picker.offsets = offsets;
  picker.quote = text.slice(cpToUnit(text, offsets.start), cpToUnit(text, offsets.end));
  picker.range = range.cloneRange();
  picker.active = 0;
  picker.open = true;
  picker.scores = null;
  delete $("ws-picker").dataset.ordered;
  const quote = picker.quote.length > 60 ? `${picker.quote.slice(0, 57)}…` : picker.quote;
  $("ws-picker-quote").textContent = quote;
  $("ws-picker-input").value = "";
  const box = $("ws-picker");
  box.hidden = false;
  const r = range.getBoundingClientRect();
  const width = Math.min(360, window.innerWidth - 16);
  box.style.left = `${Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + window.innerWidth - width - 8))}px`;
  box.style.top = `${r.bottom + window.scrollY + 8}px`;
  renderPicker();
  $("ws-picker-input").focus({ preventScroll: true });
  askAssistant(picker.quote);
  return true;
}

function closePicker(refocus = true) {
  if (!picker.open) return;
  picker.open = false;
  $("ws-picker").hidden = true;
  if (refocus) $("ws-doc").focus({ preventScroll: true });
}

function pickerKey(ev) {
  if (ev.key === "Escape") {
    ev.preventDefault();
    closePicker();
  } else if (ev.key === "ArrowDown") {
    ev.preventDefault();
    picker.active = Math.min(picker.items.length - 1, picker.active + 1);
    renderPicker();
  } else if (ev.key === "ArrowUp") {
    ev.preventDefault();
    picker.active = Math.max(0, picker.active - 1);
    renderPicker();
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    const code = picker.items[picker.active];
    if (code) applyCode(code);
  } else if (/^[1-9]$/.test(ev.key) && !$("ws-picker-input").value) {
    ev.preventDefault();
    const code = picker.items[Number(ev.key) - 1];
    if (code) applyCode(code);
  }
}

async function applyCode(code) {
  const { start, end } = picker.offsets;
  closePicker();
  const temp = { id: -Date.now(), code: code.id, start, end, coder: state.user, memo: "", needs_review: false, review_reason: "" };
  state.data.excerpts.push(temp);
  paint(temp);
  window.getSelection().removeAllRanges();
  const quote = picker.quote;
  try {
    const saved = await api("POST", "excerpts/", { document: state.docId, code: code.id, start, end });
    temp.id = saved.id;
    temp.version = saved.version;
    state.data.recent_codes = [code.id, ...(state.data.recent_codes || []).filter((id) => id !== code.id)].slice(0, 10);
    paint(temp);
    announce(`Coded “${quote}” as ${code.name}`);
    window.workspaceLastSave = performance.now();
  } catch (error) {
    state.data.excerpts = state.data.excerpts.filter((e) => e !== temp);
    paint(temp);
    showError(`Not saved: ${error.message}`);
  }
}

async function createInVivo() {
  const { start, end } = picker.offsets;
  const quote = picker.quote;
  closePicker();
  window.getSelection().removeAllRanges();
  try {
    const made = await api("POST", "in-vivo/", { document: state.docId, start, end });
    state.data.codes.push(made.code);
    indexCodes(state.data.codes);
    state.data.excerpts.push(made.excerpt);
    state.data.recent_codes = [made.code.id, ...(state.data.recent_codes || [])].slice(0, 10);
    fillFilters();
    paint();
    announce(`Coded “${quote}” as new code ${made.code.name}`);
  } catch (error) {
    showError(`Not saved: ${error.message}`);
  }
}

// --- the excerpt panel -------------------------------------------------------------------------

function canChange(excerpt) {
  return state.canCode && (state.canEditOthers || excerpt.coder === state.user);
}

function openPanel(mark) {
  const ids = mark.dataset.ids.split(",").map(Number);
  const over = state.data.excerpts.filter((e) => ids.includes(e.id));
  const body = $("ws-panel-body");
  body.textContent = "";
  const text = state.data.document.text;
  for (const e of over) {
    const code = state.codes.get(e.code) || { name: "?", color: "#888888" };
    const box = document.createElement("div");
    box.className = "ws-ex";
    box.style.setProperty("--c", code.color);
    const quote = document.createElement("blockquote");
    quote.textContent = text.slice(cpToUnit(text, e.start), cpToUnit(text, e.end));
    const meta = document.createElement("p");
    meta.className = "ws-ex__meta";
    meta.textContent = `${code.name} · coded by ${e.coder}${e.needs_review ? ` · needs review: ${e.review_reason || "the text changed"}` : ""}`;
    box.append(meta, quote);
    if (canChange(e) && e.id > 0) {
      const form = document.createElement("form");
      form.className = "ws-ex__form";
      const codeLabel = document.createElement("label");
      codeLabel.textContent = "Code";
      const select = document.createElement("select");
      for (const c of Array.from(state.codes.values()).sort((x, y) => x.path.localeCompare(y.path))) {
        if (c.is_archived && c.id !== e.code) continue;
        const opt = new Option(c.path, String(c.id), false, c.id === e.code);
        select.appendChild(opt);
      }
      codeLabel.appendChild(select);
      const memoLabel = document.createElement("label");
      memoLabel.textContent = "Memo";
      const memo = document.createElement("textarea");
      memo.rows = 3;
      memo.value = e.memo || "";
      memoLabel.appendChild(memo);
      const save = document.createElement("button");
      save.type = "submit";
      save.className = "button";
      save.textContent = "Save";
      const del = document.createElement("button");
      del.type = "button";
      del.className = "button button--danger";
      del.textContent = "Delete excerpt";
      form.append(codeLabel, memoLabel, save, del);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        updateExcerpt(e, { code: Number(select.value), memo: memo.value });
      });
      del.addEventListener("click", () => deleteExcerpt(e));
      box.appendChild(form);
    } else if (e.memo) {
      const memo = document.createElement("p");
      memo.className = "ws-ex__memo";
      memo.textContent = `Memo: ${e.memo}`;
      box.appendChild(memo);
    }
    if (e.id > 0) box.appendChild(similarBlock(e));
    body.appendChild(box);
  }
  $("ws-panel").focus({ preventScroll: false });
}

/** A page URL for document `id` from a template URL rendered with document 0 (its last "/0/"). */
function urlFor(template, id) {
  const at = template.lastIndexOf("/0/");
  return at < 0 ? template : `${template.slice(0, at)}/${id}/${template.slice(at + 3)}`;
}

/** "Find similar": passages elsewhere in the project that resemble the excerpt, each linked to
 * its spot in the document reader. */
function similarBlock(excerpt) {
  const wrap = document.createElement("div");
  wrap.className = "ws-similar";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button--secondary ws-similar__find";
  button.textContent = "Find similar passages";
  const status = document.createElement("p");
  status.className = "ws-similar__status muted";
  status.setAttribute("role", "status");
  const list = document.createElement("ol");
  list.className = "ws-similar__list";
  wrap.append(button, status, list);
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Looking for similar passages…";
    list.textContent = "";
    for (const old of wrap.querySelectorAll(".ws-similar__suggest")) old.remove();
    try {
      const payload = await api("GET", `excerpts/${excerpt.id}/similar/?k=8`);
      const results = (payload && payload.results) || [];
      status.textContent = results.length
        ? `${results.length} similar passage${results.length === 1 ? "" : "s"} elsewhere in the project:`
        : "Nothing similar elsewhere in the project.";
      for (const r of results) list.appendChild(similarItem(r));
      if (results.length && state.canCode) wrap.appendChild(suggestSimilar(excerpt, results));
    } catch (error) {
      status.textContent = `Could not look for similar passages: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return wrap;
}

function similarItem(r) {
  const li = document.createElement("li");
  li.className = "ws-similar__item";
  const head = document.createElement("p");
  head.className = "ws-similar__head";
  const link = document.createElement("a");
  const len = Math.max(1, r.end - r.start);
  link.href = `${urlFor($("ws").dataset.readerUrl, r.document)}?at=${r.start}&len=${len}#hit`;
  link.textContent = r.document_title;
  const score = document.createElement("span");
  score.className = "ws-similar__score";
  score.title = "How closely it resembles the excerpt";
  score.textContent = `${Math.round(r.score * 100)}%`;
  const code = document.createElement("a");
  code.className = "ws-similar__code";
  code.href = urlFor($("ws").dataset.codeUrl, r.document);
  code.textContent = "open in the workspace";
  head.append(link, " ", score, " · ", code);
  const quote = document.createElement("blockquote");
  quote.textContent = r.text;
  li.append(head, quote);
  if (r.codes && r.codes.length) {
    const has = document.createElement("p");
    has.className = "ws-similar__has muted";
    has.textContent = `Already coded: ${r.codes.map((c) => c.name).join(", ")}`;
    li.appendChild(has);
  }
  return li;
}

/** "Suggest these for review": the listed passages become pending suggestions of the excerpt's
 * code in the review queue (asking twice adds nothing). */
function suggestSimilar(excerpt, results) {
  const box = document.createElement("div");
  box.className = "ws-similar__suggest";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button--secondary";
  button.textContent = "Suggest these for review";
  const code = state.codes.get(excerpt.code);
  button.title = `Add them to the review queue as suggestions of ${code ? code.name : "this code"}`;
  const status = document.createElement("p");
  status.className = "ws-similar__status muted";
  status.setAttribute("role", "status");
  box.append(button, status);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const passages = results.map((r) => ({ document: r.document, start: r.start, end: r.end }));
    try {
      const done = await api("POST", `excerpts/${excerpt.id}/similar/suggest/`, { passages });
      const n = done.created;
      status.textContent = n
        ? `${n} suggestion${n === 1 ? "" : "s"} of ${code ? code.name : "this code"} added to the review queue. `
        : "They are in the review queue already. ";
      const review = document.createElement("a");
      review.href = `${$("ws").dataset.suggestionsUrl}?method=similar&code=${excerpt.code}`;
      review.textContent = "Review them";
      status.appendChild(review);
    } catch (error) {
      status.textContent = `Not suggested: ${error.message}`;
      button.disabled = false;
    }
  });
  return box;
}

/** After a 409: take the excerpt as it is now and say what changed. The panel's form is left
 * alone, so what the user typed is still there to save again (now over the current version). */
function conflicted(excerpt, error, what) {
  const current = error.payload.current;
  Object.assign(excerpt, {
    code: current.code,
    memo: current.memo,
    start: current.start,
    end: current.end,
    version: current.version,
  });
  paint(excerpt);
  const code = state.codes.get(current.code);
  const memo = current.memo ? `memo “${current.memo}”` : "no memo";
  const message =
    `Not ${what}: someone changed this excerpt since you loaded it. It is now ` +
    `${code ? code.name : "another code"} with ${memo}. ` +
    (what === "saved"
      ? "Your text is still in the form: save again to replace theirs, or reload the page."
      : "Open it again to delete it anyway, or reload the page.");
  const box = $("ws-error");
  box.textContent = message;
  box.hidden = false; // stays until the next error: it must be read, not missed
  window.clearTimeout(showError.timer);
  announce(message);
}

async function updateExcerpt(excerpt, changes) {
  const before = { code: excerpt.code, memo: excerpt.memo };
  Object.assign(excerpt, changes);
  paint(excerpt);
  try {
    const saved = await api("PATCH", `excerpts/${excerpt.id}/`, { ...changes, version: excerpt.version });
    excerpt.version = saved.version;
    const code = state.codes.get(excerpt.code);
    announce(`Saved the excerpt as ${code ? code.name : "its code"}`);
  } catch (error) {
    Object.assign(excerpt, before);
    if (error.status === 409 && error.payload && error.payload.current) {
      conflicted(excerpt, error, "saved");
      return;
    }
    paint(excerpt);
    showError(`Not saved: ${error.message}`);
  }
}

async function deleteExcerpt(excerpt) {
  const index = state.data.excerpts.indexOf(excerpt);
  state.data.excerpts.splice(index, 1);
  paint(excerpt);
  $("ws-panel-body").textContent = "Excerpt deleted.";
  try {
    await api("DELETE", `excerpts/${excerpt.id}/`, { version: excerpt.version });
    announce("Deleted the excerpt");
  } catch (error) {
    state.data.excerpts.splice(index, 0, excerpt);
    if (error.status === 409 && error.payload && error.payload.current) {
      conflicted(excerpt, error, "deleted");
      return;
    }
    paint(excerpt);
    showError(`Not deleted: ${error.message}`);
  }
}

// --- filters, memos, navigation ------------------------------------------------------------------

function fillFilters() {
  const coderSel = $("ws-filter-coder");
  const codeSel = $("ws-filter-code");
  const keepCoder = coderSel.value;
  const keepCode = codeSel.value;
  coderSel.length = 1;
  codeSel.length = 1;
  const coders = new Set((state.data.coders || []).map((c) => c.username));
  for (const e of state.data.excerpts) coders.add(e.coder);
  for (const name of Array.from(coders).sort()) coderSel.appendChild(new Option(name, name));
  for (const c of Array.from(state.codes.values()).sort((x, y) => x.path.localeCompare(y.path))) {
    codeSel.appendChild(new Option(c.path, String(c.id)));
  }
  coderSel.value = keepCoder;
  codeSel.value = keepCode;
}

function renderMemos() {
  const list = $("ws-memo-list");
  list.textContent = "";
  const memos = (state.data.memos || []).filter((m) => !m.excerpt);
  if (!memos.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No memos about this document yet.";
    list.appendChild(li);
  }
  for (const m of memos) {
    const li = document.createElement("li");
    const head = document.createElement("strong");
    head.textContent = m.title || "Memo";
    const by = document.createElement("span");
    by.className = "muted";
    by.textContent = ` · ${m.author}`;
    const text = document.createElement("p");
    text.textContent = m.text;
    li.append(head, by, text);
    list.appendChild(li);
  }
}

async function addMemo(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const title = form.elements.namedItem("title").value.trim();
  const text = form.elements.namedItem("text").value.trim();
  if (!text) return;
  try {
    const memo = await api("POST", "memos/", { document: state.docId, title, text });
    state.data.memos.unshift({ ...memo, excerpt: null });
    form.reset();
    renderMemos();
    announce("Memo added");
  } catch (error) {
    showError(`Memo not saved: ${error.message}`);
  }
}

function nextUncoded() {
  const turns = Array.from(document.querySelectorAll("#ws-doc .ws-turn"));
  if (!turns.length) return;
  const sel = window.getSelection();
  let from = -1;
  if (sel && sel.rangeCount) {
    const here = sel.getRangeAt(0).startContainer;
    const el = here.nodeType === 1 ? here : here.parentElement;
    const turn = el && el.closest(".ws-turn");
    if (turn) from = turns.indexOf(turn);
  }
  for (let step = 1; step <= turns.length; step++) {
    const turn = turns[(from + step) % turns.length];
    if (turn.classList.contains("ws-turn--coded")) continue;
    turn.scrollIntoView({ block: "center" });
    const text = turn.querySelector(".ws-text");
    const first = text && document.createTreeWalker(text, NodeFilter.SHOW_TEXT).nextNode();
    if (first) sel.setBaseAndExtent(first, 0, first, 0);
    $("ws-doc").focus({ preventScroll: true });
    const speaker = turn.querySelector(".ws-speaker");
    announce(`Next uncoded turn${speaker ? `: ${speaker.textContent}` : ""}`);
    return;
  }
  announce("Every turn has an excerpt");
}

/** Arriving with ?excerpt=<id> (from the dashboard's quotes): bring that excerpt into view,
 * flash and focus it, and open its panel. */
function focusRequested() {
  const wanted = Number(new URLSearchParams(window.location.search).get("excerpt"));
  if (!Number.isInteger(wanted) || wanted <= 0) return;
  const mark = markFor($("ws-doc"), wanted);
  if (!mark) {
    showError("That excerpt is no longer in this document.");
    return;
  }
  openPanel(mark);
  mark.classList.add("ws-hl--target");
  mark.scrollIntoView({ block: "center" });
  // Focus, not a DOM selection: a selection would turn the next Enter into "code this text".
  mark.focus({ preventScroll: true });
  announce("Showing the excerpt you opened from the dashboard");
}

function docKey(ev) {
  if (picker.open) return;
  const target = ev.target;
  if (target.closest("input, textarea, select")) return;
  const mark = target.closest && target.closest(".ws-hl");
  if (ev.key === "Enter" && mark && window.getSelection().isCollapsed) {
    ev.preventDefault();
    openPanel(mark);
    return;
  }
  if ((ev.key === "Enter" || ev.key === "c") && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    if (openPicker()) ev.preventDefault();
    return;
  }
  if (ev.key === "n" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    ev.preventDefault();
    nextUncoded();
    return;
  }
  // Keyboard selection: Shift+arrows by letter (or line), Ctrl+Shift+arrows by word.
  if (ev.shiftKey && ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(ev.key)) {
    const sel = window.getSelection();
    if (!sel.rangeCount || !$("ws-doc").contains(sel.anchorNode)) {
      const first = document.createTreeWalker($("ws-doc").querySelector(".ws-text") || $("ws-doc"), NodeFilter.SHOW_TEXT).nextNode();
      if (first) sel.setBaseAndExtent(first, 0, first, 0);
    }
    const forward = ev.key === "ArrowRight" || ev.key === "ArrowDown";
    const unit = ev.key === "ArrowUp" || ev.key === "ArrowDown" ? "line" : ev.ctrlKey || ev.altKey ? "word" : "character";
    if (typeof sel.modify === "function") {
      ev.preventDefault();
      sel.modify("extend", forward ? "forward" : "backward", unit);
    }
  }
}

async function load() {
  const params = state.filter.mine ? "?mine=1" : "";
  state.data = await api("GET", `documents/${state.docId}/workspace/${params}`);
  indexCodes(state.data.codes);
}

async function start() {
  const ws = $("ws");
  if (!ws) return;
  state.api = ws.dataset.api;
  state.docId = Number(ws.dataset.document);
  state.user = ws.dataset.user;
  state.canCode = ws.dataset.canCode === "1";
  state.canEditOthers = ws.dataset.canEditOthers === "1";
  try {
    await load();
  } catch (error) {
    showError(`Could not load the coding: ${error.message}`);
    return;
  }
  fillFilters();
  paint();
  renderMemos();
  const root = $("ws-doc");
  root.addEventListener("mouseup", () => window.setTimeout(() => openPicker(), 0));
  root.addEventListener("keydown", docKey);
  root.addEventListener("click", (ev) => {
    const mark = ev.target.closest(".ws-hl");
    if (mark && window.getSelection().isCollapsed) openPanel(mark);
  });
  root.addEventListener("mouseover", (ev) => {
    const mark = ev.target.closest(".ws-hl");
    if (mark) showTip(mark);
  });
  root.addEventListener("mouseout", (ev) => {
    const mark = ev.target.closest(".ws-hl");
    if (mark) hideTip(mark);
  });
  root.addEventListener("focusin", (ev) => {
    const mark = ev.target.closest(".ws-hl");
    if (mark) showTip(mark);
  });
  root.addEventListener("focusout", (ev) => {
    const mark = ev.target.closest(".ws-hl");
    if (mark) hideTip(mark);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "n" && !picker.open && ev.target === document.body) {
      ev.preventDefault();
      nextUncoded();
    }
  });
  $("ws-next").addEventListener("click", nextUncoded);
  $("ws-filter-coder").addEventListener("change", (ev) => {
    state.filter.coder = ev.target.value;
    paint();
  });
  $("ws-filter-code").addEventListener("change", (ev) => {
    state.filter.code = ev.target.value;
    paint();
  });
  $("ws-blind").addEventListener("change", async (ev) => {
    state.filter.mine = ev.target.checked;
    $("ws-filter-coder").disabled = state.filter.mine;
    try {
      await load();
    } catch (error) {
      showError(`Could not load the coding: ${error.message}`);
    }
    fillFilters();
    paint();
    announce(state.filter.mine ? "Blind mode: only your excerpts are shown" : "Everyone's excerpts are shown");
  });
  if (state.canCode) {
    const input = $("ws-picker-input");
    input.addEventListener("input", () => {
      picker.active = 0;
      renderPicker();
    });
    input.addEventListener("keydown", pickerKey);
    $("ws-invivo").addEventListener("click", createInVivo);
    $("ws-invivo").addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") closePicker();
    });
    document.addEventListener("mousedown", (ev) => {
      if (picker.open && !$("ws-picker").contains(ev.target)) closePicker(false);
    });
    const memoForm = $("ws-memo-form");
    if (memoForm) memoForm.addEventListener("submit", addMemo);
  }
  // Filters apply as they change; Enter in one must not submit (reload) the page. Here, not in an
  // onsubmit attribute, because the Content-Security-Policy allows no inline script.
  document.querySelector(".ws-toolbar").addEventListener("submit", (ev) => ev.preventDefault());
  focusRequested();
  window.workspaceReadyAt = performance.now();
  window.workspaceReady = true;
  document.documentElement.dataset.workspaceReady = "1";
}

start();
