// The portal's session warning and form keeping (served by the binary, no third party).
// The page says how many seconds its session has left (data-left on #session-warning);
// shortly before the end a warning appears with a button that keeps the session
// (GET /{part}/session). What is typed into a form is kept in this tab's sessionStorage
// (never passwords or files) and filled in again if the session ended and the holder
// signed in again; it is forgotten once a submitted form reaches a page other than the
// sign-in.
(function () {
  "use strict";
  var timer = null;
  var KEEP = "ykt-form:";

  function formKey(form) {
    return KEEP + location.pathname + "|" + (form.getAttribute("action") || "");
  }

  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      var t = (el.type || "").toLowerCase();
      return el.name && el.name !== "csrf" && t !== "password" && t !== "hidden" && t !== "file" && t !== "submit" && t !== "button";
    });
  }

  function keepForms() {
    Array.prototype.forEach.call(document.querySelectorAll("form[method=post]"), function (form) {
      if (form.dataset.kept || form.closest("[data-sign-in]")) return;
      form.dataset.kept = "1";
      var key = formKey(form);
      var saved = {};
      try { saved = JSON.parse(sessionStorage.getItem(key) || "{}"); } catch (e) { saved = {}; }
      keptFields(form).forEach(function (el) {
        if (Object.prototype.hasOwnProperty.call(saved, el.name)) el.value = saved[el.name];
      });
      var save = function () {
        var values = {};
        keptFields(form).forEach(function (el) { values[el.name] = el.value; });
        sessionStorage.setItem(key, JSON.stringify(values));
      };
      form.addEventListener("input", save);
      form.addEventListener("change", save);
      form.addEventListener("submit", function () { save(); sessionStorage.setItem("ykt-pending", key); });
    });
  }

  // A submitted form that reached a page other than the sign-in is done with; one that
  // met the sign-in (its session had ended) is kept to be filled in again.
  function forgetSubmitted() {
    var pending = sessionStorage.getItem("ykt-pending");
    if (!pending) return;
    sessionStorage.removeItem("ykt-pending");
    if (!document.querySelector("[data-sign-in]")) sessionStorage.removeItem(pending);
  }

  // The page asks how long its session has left every few seconds (without counting
  // as activity), counts down in between, and warns shortly before the end.
  function watchSession() {
    var box = document.getElementById("session-warning");
    if (timer) { clearInterval(timer); timer = null; }
    if (!box) return;
    var left = parseInt(box.dataset.left, 10);
    var warn = parseInt(box.dataset.warn, 10);
    var part = box.dataset.part;
    var shown = document.getElementById("session-left");
    var csrf = document.querySelector("input[name=csrf]");
    var ticks = 0;
    // A poll that started before "stay signed in" was pressed answers an older state.
    var generation = 0;
    var show = function () {
      box.hidden = left > warn;
      shown.textContent = String(Math.max(left, 0));
      box.classList.toggle("ended", left <= 0);
    };
    var ask = function () {
      var asked = generation;
      fetch("/" + part + "/session", { credentials: "same-origin", headers: { "accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) { if (asked === generation) { left = s.seconds_left; show(); } })
        .catch(function () {});
    };
    show();
    timer = setInterval(function () {
      left -= 1;
      ticks += 1;
      if (ticks % 5 === 0) ask(); else show();
    }, 1000);
    document.getElementById("stay-signed-in").onclick = function () {
      generation += 1;
      var body = new URLSearchParams();
      body.set("csrf", csrf ? csrf.value : "");
      fetch("/" + part + "/session", { method: "POST", credentials: "same-origin", redirect: "manual", body: body, headers: { "accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) { left = s.seconds_left; show(); })
        .catch(function () { left = 0; show(); });
    };
  }

  function init() { forgetSubmitted(); keepForms(); watchSession(); }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
