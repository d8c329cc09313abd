// Import page: send each chosen file to the review route (showing its upload progress), let the
// researcher say who each speaker is, then post the whole batch to the documents API at once.
// Without this script the form posts to the page, which imports with the default mapping.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;

  var input = document.getElementById("import-files");
  var zone = document.getElementById("drop-zone");
  var review = document.getElementById("import-review");
  var list = document.getElementById("import-files-list");
  var submit = document.getElementById("import-submit");
  var status = document.getElementById("import-status");
  var result = document.getElementById("import-result");
  var participant = document.getElementById("import-participant");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var items = []; // {file, li, ready}
  var SURVEY = ["text_columns", "respondent_column", "customer_ref_column"];

  input.required = false; // the files live in `items`, not in the input
  form.classList.add("import-form--js");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1048576) return Math.round(bytes / 1024) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function options(data) {
    data.append("participant", participant.value);
    SURVEY.forEach(function (name) {
      data.append(name, form.querySelector("#import-survey [name=" + name + "]").value);
    });
  }

  function refresh() {
    var count = items.length;
    var ready = items.filter(function (item) { return item.ready; }).length;
    review.hidden = count === 0;
    submit.disabled = count === 0 || ready < count;
    submit.textContent = count > 1 ? "Import " + count + " files" : "Import";
    if (count === 0) status.textContent = "";
    else if (ready < count) status.textContent = (count - ready) + " of " + count + " file(s) still to check or fix.";
    else status.textContent = "All files read cleanly.";
  }

  function check(item) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    data.append("file", item.file);
    options(data);
    item.ready = false;
    item.state.textContent = "Uploading…";
    item.state.className = "import-file__state";
    item.bar.hidden = false;
    item.bar.value = 0;
    refresh();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.reviewUrl);
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        item.bar.value = Math.round((event.loaded / event.total) * 100);
        item.state.textContent = "Uploading " + item.bar.value + "%";
      }
    };
    xhr.upload.onload = function () {
      item.bar.value = 100;
      item.state.textContent = "Reading…";
    };
    xhr.onload = function () {
      item.bar.value = 100;
      if (xhr.status === 200 || xhr.status === 400) {
        // The card is rendered (and escaped) by the server.
        item.body.innerHTML = xhr.responseText;
        var card = item.body.querySelector("[data-ready]");
        item.ready = !!card && card.getAttribute("data-ready") === "1";
      } else {
        item.body.textContent = "The server could not check this file (error " + xhr.status + ").";
        item.ready = false;
      }
      item.state.textContent = item.ready ? "Uploaded · ready" : "Needs attention";
      item.state.className = "import-file__state " + (item.ready ? "is-ok" : "is-bad");
      item.li.classList.toggle("import-file--bad", !item.ready);
      refresh();
    };
    xhr.onerror = function () {
      item.state.textContent = "Upload failed: check the connection and choose the file again.";
      item.state.className = "import-file__state is-bad";
    };
    xhr.send(data);
  }

  function add(files) {
    result.textContent = "";
    Array.prototype.forEach.call(files, function (file) {
      if (items.some(function (item) { return item.file.name === file.name; })) return;
      var li = el("li", "import-file");
      var head = el("div", "import-file__head");
      head.appendChild(el("span", "import-file__name", file.name));
      head.appendChild(el("span", "import-file__size muted", size(file.size)));
      var state = el("span", "import-file__state", "Waiting");
      state.setAttribute("role", "status");
      head.appendChild(state);
      var remove = el("button", "button button--secondary import-file__remove", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + file.name);
      head.appendChild(remove);
      var bar = el("progress", "import-file__bar");
      bar.max = 100;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var body = el("div", "import-file__body");
      li.appendChild(head);
      li.appendChild(bar);
      li.appendChild(body);
      list.appendChild(li);
      var item = { file: file, li: li, body: body, bar: bar, state: state, ready: false };
      items.push(item);
      remove.addEventListener("click", function () {
        items.splice(items.indexOf(item), 1);
        li.remove();
        refresh();
      });
      check(item);
    });
    input.value = "";
    refresh();
  }

  input.addEventListener("change", function () { add(input.files); });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("drop-zone--over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("drop-zone--over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files) add(event.dataTransfer.files);
  });

  // Defaults depend on the chosen participant: ask again for every file.
  participant.addEventListener("change", function () { items.forEach(check); });

  list.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList.contains("speaker-map__select")) {
      var pseudonym = target.parentNode.querySelector(".speaker-map__pseudonym");
      pseudonym.hidden = target.value !== "new";
      if (!pseudonym.hidden) { freePseudonym(pseudonym); pseudonym.focus(); }
      return;
    }
    var columns = target.closest("[data-survey-columns]");
    if (columns) {
      // A survey's column choice applies to the batch: copy it to the form, read the file again.
      var chosen = Array.prototype.map.call(
        columns.querySelectorAll("input[name=text_columns]:checked"),
        function (box) { return box.value; }
      );
      form.querySelector("#import-text-columns").value = chosen.join(",");
      ["respondent_column", "customer_ref_column"].forEach(function (name) {
        form.querySelector("#import-survey [name=" + name + "]").value =
          columns.querySelector("select[name=" + name + "]").value;
      });
      var item = items.filter(function (it) { return it.li.contains(columns); })[0];
      if (item) check(item);
    }
  });

  function freePseudonym(field) {
    // Two speakers given the same suggested pseudonym would become one person: bump it.
    var used = Array.prototype.filter.call(
      list.querySelectorAll(".speaker-map__pseudonym"),
      function (other) { return other !== field && !other.hidden; }
    ).map(function (other) { return other.value.trim().toUpperCase(); });
    var match = /^P(\d+)$/i.exec(field.value.trim());
    if (!match) return;
    var number = parseInt(match[1], 10);
    while (used.indexOf("P" + String(number).padStart(2, "0")) !== -1) number += 1;
    field.value = "P" + String(number).padStart(2, "0");
  }

  function speakers() {
    var map = {};
    items.forEach(function (item) {
      var rows = item.body.querySelectorAll("tr[data-speaker]");
      if (!rows.length) return;
      var mapping = {};
      Array.prototype.forEach.call(rows, function (row) {
        var value = row.querySelector(".speaker-map__select").value;
        var target = {};
        if (value === "new") target = { pseudonym: row.querySelector(".speaker-map__pseudonym").value };
        else if (value.indexOf("participant:") === 0) target = { participant: Number(value.slice(12)) };
        else if (value.indexOf("interviewer:") === 0) target = { interviewer: value.slice(12) };
        mapping[row.getAttribute("data-speaker")] = target;
      });
      map[item.file.name] = mapping;
    });
    return map;
  }

  function showErrors(body) {
    var box = el("div", "alert alert--error import-alert");
    box.setAttribute("role", "alert");
    var intro = el("p");
    intro.appendChild(el("strong", "", "Nothing was imported. "));
    intro.appendChild(document.createTextNode((body && body.detail) || "The server refused the batch."));
    box.appendChild(intro);
    var ul = el("ul", "import-errors");
    ((body && body.errors) || []).forEach(function (error) {
      var where = error.file || error.field || "";
      if (error.line) where += ", line " + error.line;
      else if (error.row) where += ", row " + error.row;
      var li = el("li");
      if (where) li.appendChild(el("strong", "", where + ": "));
      var message = String(error.message || "");
      li.appendChild(document.createTextNode(message.charAt(0).toUpperCase() + message.slice(1)));
      ul.appendChild(li);
    });
    box.appendChild(ul);
    result.appendChild(box);
  }

  function showDone(body) {
    var box = el("section", "alert alert--success import-done import-alert");
    box.setAttribute("role", "status");
    var count = body.documents.length;
    box.appendChild(el("h2", "", "Imported " + count + " document" + (count === 1 ? "" : "s")));
    var ul = el("ul", "import-done__list");
    body.documents.forEach(function (doc) {
      var li = el("li");
      var link = el("a", "", doc.title);
      link.href = form.dataset.documentUrl.replace("999999999", String(doc.id));
      li.appendChild(link);
      var detail = doc.kind === "survey" ? "survey answer"
        : doc.turn_count + " turn" + (doc.turn_count === 1 ? "" : "s");
      li.appendChild(el("span", "muted", " · " + detail));
      ul.appendChild(li);
    });
    box.appendChild(ul);
    result.appendChild(box);
    items.splice(0, items.length);
    list.textContent = "";
    refresh();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!items.length) { status.textContent = "Choose at least one file."; return; }
    var data = new FormData();
    items.forEach(function (item) { data.append("file", item.file); });
    options(data);
    data.append("speakers", JSON.stringify(speakers()));
    result.textContent = "";
    submit.disabled = true;
    status.textContent = "Importing…";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.apiUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) status.textContent = "Sending " + Math.round((e.loaded / e.total) * 100) + "%…";
    };
    xhr.upload.onload = function () {
      status.textContent = "Uploaded. Reading and saving the documents…";
    };
    xhr.onload = function () {
      if (xhr.status === 201) {
        showDone(xhr.response);
        status.textContent = "Import complete.";
      } else {
        status.textContent = "";
        showErrors(xhr.response);
        refresh();
      }
    };
    xhr.onerror = function () {
      status.textContent = "The connection failed; nothing was imported. Try again.";
      refresh();
    };
    xhr.send(data);
  });

  refresh();
})();
