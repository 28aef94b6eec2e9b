// Gatehouse: the sign-in form before the WebAssembly program runs.
//
// The server's prerendered sign-in page is painted long before app.wasm
// has loaded on a slow link. This script (a file, as the page's
// Content-Security-Policy allows no inline script) keeps that form usable
// meanwhile: it never lets the browser submit it, keeps what is typed in
// memory only (window.gatehouseEarlyLogin, never storage), shows a
// submission as "starting…", and leaves the rest to the program, which
// takes the values, the focus and a held submission when it starts
// (app/ui/login.go) and then replaces this form with its own.
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  if (!form) {
    return;
  }
  var early = { username: "", password: "", focus: "", submitted: false };
  window.gatehouseEarlyLogin = early;

  function read() {
    early.username = form.elements.username.value;
    early.password = form.elements.password.value;
  }
  function say(text) {
    var status = document.getElementById("login-status");
    if (status) {
      status.textContent = text;
    }
  }

  var active = document.activeElement;
  early.focus = active && form.contains(active) ? active.id : "";
  read(); // a browser may have filled the fields in already

  form.addEventListener("input", read);
  form.addEventListener("focusin", function (e) {
    early.focus = e.target.id || "";
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    read();
    if (!early.username.trim() || !early.password) {
      say("Enter your username and password.");
      return;
    }
    early.submitted = true;
    var button = document.getElementById("login-submit");
    if (button) {
      button.textContent = "Starting…";
      button.setAttribute("aria-disabled", "true");
    }
    form.setAttribute("aria-busy", "true");
    say("Gatehouse is starting; you will be signed in as soon as it has loaded.");
  });
})();
