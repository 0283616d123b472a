/* lvyue pages: toasts, the small-screen menu, row selection, live updates. No build step. */
(function () {
  "use strict";

  function toast(level, message, detail) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (level || "info");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    var text = document.createElement("p");
    text.textContent = message;
    item.appendChild(text);
    (detail || []).slice(0, 8).forEach(function (line) {
      var small = document.createElement("small");
      small.textContent = line;
      item.appendChild(small);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "×");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, level === "error" ? 12000 : 5000);
  }
  window.lvyueToast = toast;

  document.addEventListener("toast", function (evt) {
    var d = evt.detail || {};
    if (d.value && typeof d.value === "object") d = d.value;
    toast(d.level, d.message, d.detail);
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return; // the server sent its own toast
    var box = document.getElementById("toasts");
    toast("error", box ? box.dataset.serverError : "Error", [xhr ? xhr.status + " " + xhr.statusText : ""]);
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("toasts");
    toast("error", box ? box.dataset.networkError : "Network error");
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-toggle-nav]");
    if (!button) return;
    var open = document.body.classList.toggle("nav-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Row selection: a "select all" box and a live count for the bulk-action bar.
  function updateSelection(scope) {
    var boxes = scope.querySelectorAll("input[data-row]");
    var checked = scope.querySelectorAll("input[data-row]:checked").length;
    var all = scope.querySelector("input[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = checked;
    });
    document.querySelectorAll("[data-needs-selection]").forEach(function (el) {
      el.disabled = checked === 0;
    });
  }
  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target.matches("input[data-select-all]")) {
      var scope = target.closest("[data-selection]") || document;
      scope.querySelectorAll("input[data-row]").forEach(function (box) { box.checked = target.checked; });
      updateSelection(scope);
    } else if (target.matches("input[data-row]")) {
      updateSelection(target.closest("[data-selection]") || document);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var scope = document.querySelector("[data-selection]");
    if (scope) updateSelection(scope);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var scope = document.querySelector("[data-selection]");
    if (scope) updateSelection(scope);
  });

  // A file chosen for upload is read here into a text field of the form (rate tables):
  // <input type="file" data-read-into="ID" data-filename-into="ID">.
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("input[type=file][data-read-into]") || !input.files.length) return;
    var file = input.files[0];
    var reader = new FileReader();
    reader.onload = function () {
      var target = document.getElementById(input.dataset.readInto);
      if (target) target.value = String(reader.result || "");
      var name = document.getElementById(input.dataset.filenameInto || "");
      if (name) name.value = file.name;
    };
    reader.readAsText(file, "utf-8");
  });

  // Live updates: order events from the server-sent stream (signed in by the session
  // cookie) fire "orders-changed" on the body, at most once a second; elements that show
  // counts listen with hx-trigger="orders-changed from:body".
  var LIVE_TYPES = ["order.status_changed", "order.held", "order.shipped"];
  function live() {
    if (document.body.dataset.live !== "on" || !window.EventSource) return;
    var timer = null;
    var source = new EventSource("/api/v1/events");
    function changed() {
      if (timer) return;
      timer = setTimeout(function () {
        timer = null;
        document.body.dispatchEvent(new CustomEvent("orders-changed", { bubbles: true }));
      }, 1000);
    }
    LIVE_TYPES.forEach(function (type) { source.addEventListener(type, changed); });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  document.addEventListener("DOMContentLoaded", live);
})();
