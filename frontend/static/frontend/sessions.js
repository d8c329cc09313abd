/* Quick capture of field notes: save without a page reload, never lose a draft.
 *
 * - Every keystroke of the draft is kept in localStorage (one key per session).
 * - Saving moves the note into a "waiting to send" queue in localStorage first, then posts it;
 *   a note leaves the queue only when the server answers 201. The queue is retried on the
 *   `online` event, every few seconds, and by the Retry button; reloading keeps it.
 * - Each queued note carries a client-made id; the server returns the existing note when a
 *   retry repeats one whose answer was lost, so a note is never created twice.
 * Without JavaScript the form is a plain POST that redirects back to this page.
 */
(function () {
  "use strict";

  var root = document.getElementById("capture");
  var form = document.getElementById("capture-form");
  if (!root || !form) return;

  var DRAFT = root.dataset.storeKey + ":draft";
  var QUEUE = root.dataset.storeKey + ":queue";
  var RETRY_EVERY_MS = 5000;
  var KIND_LABELS = {};
  form.querySelectorAll(".kind-picker__input").forEach(function (input) {
    var label = form.querySelector('label[for="' + input.id + '"]');
    KIND_LABELS[input.value] = label ? label.textContent.trim() : input.value;
  });

  var text = form.elements.namedItem("text");
  var time = form.elements.namedItem("observed_at");
  var who = form.elements.namedItem("participant");
  var csrf = form.elements.namedItem("csrfmiddlewaretoken").value;
  var notesList = document.getElementById("capture-notes");
  var emptyNote = document.getElementById("capture-empty");
  var queueBox = document.getElementById("capture-queue");
  var queueList = document.getElementById("queue-list");
  var queueCount = document.getElementById("queue-count");
  var queueStatus = document.getElementById("queue-status");
  var draftStatus = document.getElementById("draft-status");
  var stamp = null; // when the current note was observed: the moment typing started, or as edited
  var sending = false;
  var lastProblem = "";

  function load(name, fallback) {
    try {
      var raw = window.localStorage.getItem(name);
      return raw ? JSON.parse(raw) : fallback;
    } catch (error) {
      return fallback;
    }
  }

  function store(name, value) {
    try {
      window.localStorage.setItem(name, JSON.stringify(value));
      return true;
    } catch (error) {
      draftStatus.textContent = "This phone would not keep the draft (storage full or blocked).";
      return false;
    }
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  // A Date as the time field shows it, in the phone's own time zone.
  function toLocalInput(date) {
    return pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  // The time field's "HH:MM" on the day of the current stamp (today if none), to the second.
  function fromLocalInput(value) {
    var parts = value.split(":").map(Number);
    if (parts.length < 2 || parts.some(isNaN)) return null;
    var date = stamp ? new Date(stamp.getTime()) : new Date();
    date.setHours(parts[0], parts[1], parts[2] || 0, 0);
    return date;
  }

  function clock(iso) {
    var date = new Date(iso);
    return pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function kindValue() {
    var checked = form.querySelector('input[name="kind"]:checked');
    return checked ? checked.value : "observation";
  }

  function setKind(value) {
    var input = form.querySelector('input[name="kind"][value="' + value + '"]');
    if (input) input.checked = true;
  }

  function participantLabel(value) {
    if (!who || !value) return "";
    var option = who.querySelector('option[value="' + value + '"]');
    return option ? option.textContent.replace(/ \(.*\)$/, "") : "";
  }

  // --- the draft -------------------------------------------------------------------------
  function saveDraft() {
    var draft = {
      text: text.value,
      kind: kindValue(),
      participant: who ? who.value : "",
      observed_at: stamp ? stamp.toISOString() : "",
    };
    if (store(DRAFT, draft) && text.value.trim()) {
      draftStatus.textContent = "Draft kept on this phone.";
    }
  }

  function restoreDraft() {
    var draft = load(DRAFT, null);
    stamp = null;
    time.value = "";
    if (!draft) return;
    text.value = draft.text || "";
    setKind(draft.kind || "observation");
    if (who && draft.participant) who.value = draft.participant;
    if (draft.observed_at) {
      stamp = new Date(draft.observed_at);
      time.value = toLocalInput(stamp);
    }
    if (text.value.trim()) draftStatus.textContent = "Your unsaved draft is back.";
  }

  text.addEventListener("input", function () {
    if (!stamp && text.value.trim()) {
      stamp = new Date(); // time-stamped the moment the researcher starts typing
      time.value = toLocalInput(stamp);
    }
    saveDraft();
  });
  time.addEventListener("change", function () {
    stamp = time.value ? fromLocalInput(time.value) : null;
    saveDraft();
  });
  form.addEventListener("change", function (event) {
    if (event.target !== time) saveDraft();
  });

  // --- the list of saved notes -----------------------------------------------------------
  function noteItem(note, extraClass) {
    var item = document.createElement("li");
    item.className = "note note--" + note.kind + (extraClass ? " " + extraClass : "");
    var meta = document.createElement("p");
    meta.className = "note__meta";
    var when = document.createElement("time");
    when.dateTime = note.observed_at;
    when.textContent = note.time || clock(note.observed_at);
    var kind = document.createElement("span");
    kind.className = "note__kind";
    kind.textContent = note.kind_label || KIND_LABELS[note.kind] || note.kind;
    meta.append(when, " · ", kind);
    if (note.participant) meta.append(" · " + note.participant);
    var body = document.createElement("p");
    body.className = "note__text";
    body.textContent = note.text;
    item.append(meta, body);
    return item;
  }

  function showSaved(note) {
    if (notesList.querySelector('[data-note-id="' + note.id + '"]')) return;
    var item = noteItem(note, "note--new");
    item.dataset.noteId = note.id;
    notesList.append(item);
    emptyNote.hidden = true;
    showLatest();
  }

  // The newest note and the queue sit right above the form pinned to the bottom of the screen.
  function showLatest() {
    window.scrollTo({ top: document.documentElement.scrollHeight });
  }

  // --- the queue -------------------------------------------------------------------------
  function renderQueue() {
    var queue = load(QUEUE, []);
    queueBox.hidden = queue.length === 0;
    queueCount.textContent = String(queue.length);
    queueList.replaceChildren();
    queue.forEach(function (entry) {
      var item = noteItem({
        kind: entry.kind,
        observed_at: entry.observed_at,
        participant: participantLabel(entry.participant),
        text: entry.text,
      }, "note--queued");
      var state = document.createElement("p");
      state.className = "note__state";
      state.textContent = entry.rejected ? "Not accepted: " + entry.rejected : "Waiting to send";
      item.append(state);
      if (entry.rejected) {
        var back = document.createElement("button");
        back.type = "button";
        back.className = "button button--secondary";
        back.textContent = "Fix it in the editor";
        back.addEventListener("click", function () { backToEditor(entry.client_id); });
        item.append(back);
      }
      queueList.append(item);
    });
    if (queue.length) {
      queueStatus.textContent = lastProblem ||
        (navigator.onLine === false
          ? "You are offline. Notes are kept on this phone and sent when the connection is back."
          : "Kept on this phone. Sent as soon as the server answers.");
    }
  }

  function updateQueue(change) {
    var queue = change(load(QUEUE, []));
    store(QUEUE, queue);
    renderQueue();
  }

  function backToEditor(clientId) {
    if (text.value.trim() && !window.confirm("Replace the note you are writing with this one?")) return;
    var entry = load(QUEUE, []).find(function (e) { return e.client_id === clientId; });
    if (!entry) return;
    text.value = entry.text;
    setKind(entry.kind);
    if (who) who.value = entry.participant;
    stamp = new Date(entry.observed_at);
    time.value = toLocalInput(stamp);
    saveDraft();
    updateQueue(function (q) { return q.filter(function (e) { return e.client_id !== clientId; }); });
    text.focus();
  }

  async function refreshToken() {
    // A login in another tab rotates the CSRF token: read the current one from this page.
    var response = await fetch(window.location.href, { credentials: "same-origin", redirect: "manual" });
    if (response.status !== 200) return false;
    var page = new DOMParser().parseFromString(await response.text(), "text/html");
    var input = page.querySelector('input[name="csrfmiddlewaretoken"]');
    if (!input) return false;
    csrf = input.value;
    return true;
  }

  async function post(entry) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    data.append("client_id", entry.client_id);
    data.append("text", entry.text);
    data.append("kind", entry.kind);
    data.append("participant", entry.participant || "");
    data.append("observed_at", entry.observed_at);
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      redirect: "manual", // a redirect here means "log in again", not a saved note
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
    });
  }

  // Returns "sent", "rejected" (the server said no; retrying will not help) or "failed".
  async function send(entry) {
    var response;
    try {
      response = await post(entry);
      if (response.status === 403 && (await refreshToken())) response = await post(entry);
    } catch (error) {
      lastProblem = "No connection. Notes are kept on this phone and sent when it is back.";
      return "failed";
    }
    if (response.status === 201) {
      showSaved(await response.json());
      return "sent";
    }
    if (response.status === 400) {
      var body = await response.json().catch(function () { return {}; });
      var reasons = (body.errors || []).map(function (e) { return e.message; }).join(" ");
      updateQueue(function (q) {
        return q.map(function (e) {
          if (e.client_id === entry.client_id) e.rejected = reasons || body.detail || "Invalid note.";
          return e;
        });
      });
      return "rejected";
    }
    lastProblem = response.type === "opaqueredirect" || response.status === 403
      ? "You were logged out. Log in again in another tab, then press Retry; your notes are kept here."
      : "The server did not save the notes (error " + response.status + "). Retrying in a few seconds.";
    return "failed";
  }

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      for (;;) {
        var next = load(QUEUE, []).find(function (e) { return !e.rejected; });
        if (!next) break;
        var outcome = await send(next);
        if (outcome === "failed") break;
        lastProblem = "";
        if (outcome === "sent") {
          updateQueue(function (q) { return q.filter(function (e) { return e.client_id !== next.client_id; }); });
        }
      }
    } finally {
      sending = false;
      renderQueue();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!text.value.trim()) {
      draftStatus.textContent = "Write the note first.";
      text.focus();
      return;
    }
    var entry = {
      client_id: uuid(),
      text: text.value,
      kind: kindValue(),
      participant: who ? who.value : "",
      observed_at: (stamp || new Date()).toISOString(),
    };
    var queue = load(QUEUE, []);
    queue.push(entry);
    if (!store(QUEUE, queue)) return; // keep the draft in the editor rather than lose it
    window.localStorage.removeItem(DRAFT);
    text.value = "";
    time.value = "";
    stamp = null;
    setKind("observation");
    draftStatus.textContent = "";
    renderQueue();
    showLatest();
    flush();
  });

  document.getElementById("queue-retry").addEventListener("click", function () {
    lastProblem = "";
    flush();
  });
  window.addEventListener("online", flush);
  window.addEventListener("offline", renderQueue);
  window.setInterval(flush, RETRY_EVERY_MS);

  restoreDraft();
  renderQueue();
  showLatest();
  flush();
})();
