// vulnsync UI helpers. No inline scripts anywhere (the CSP forbids them):
// behaviour is attached here by data attributes.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="element-id">. Inputs copy their value,
  // other elements their text.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el) return;
    var text = ("value" in el) ? el.value : el.textContent;
    var done = function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      btn.classList.add("copied");
      setTimeout(function () { btn.textContent = old; btn.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(el, text); done(); });
    } else {
      fallback(el, text);
      done();
    }
  });

  function fallback(el, text) {
    if ("select" in el) {
      el.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(el);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected for a manual copy */ }
  }

  // htmx requests carry the CSRF token as a header too, so buttons outside
  // a form are protected the same way.
  document.addEventListener("htmx:configRequest", function (ev) {
    var field = document.querySelector("input[name=csrf_token]");
    if (field) ev.detail.headers["X-CSRF-Token"] = field.value;
  });

  // Upload progress: <form data-progress="progress-id"> is sent with
  // XMLHttpRequest so the <progress> element can follow the upload; the
  // answer (the page with the result after the redirect, or the page with
  // the problem) then replaces the page. Without JavaScript the form posts
  // normally.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-progress]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var bar = document.getElementById(form.getAttribute("data-progress"));
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total);
      });
    }
    xhr.addEventListener("load", function () {
      // The answer already carries the one-time result message: show it
      // rather than loading the page again (which would lose it).
      var target = xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (target && target !== form.action && window.history && history.replaceState) {
        history.replaceState(null, "", target);
      }
    });
    xhr.addEventListener("error", function () { form.submit(); });
    xhr.send(new FormData(form));
  });
})();

// Long actions (issue 15): a form marked data-busy="what is happening"
// disables its submit button and shows a spinner with that text while the
// request runs; the answer replaces the page. Without JavaScript the form
// posts the same way, only without the spinner.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-busy]");
    if (!form || ev.defaultPrevented) return;
    var btn = form.querySelector("button[type=submit]");
    // The submission is under way once the submit event fires:
    // disabling the button now does not stop it (the button has no name
    // that the form's data would need), and a timer might not run again
    // on a page that is being left.
    form.setAttribute("aria-busy", "true");
    if (btn) {
      btn.disabled = true;
      btn.classList.add("busy");
    }
    var note = form.querySelector(".busy-note");
    if (note) {
      note.textContent = form.getAttribute("data-busy");
      note.hidden = false;
    }
  });
  // Coming back to the page (back button, bfcache): ready again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy][aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button.busy").forEach(function (b) { b.disabled = false; b.classList.remove("busy"); });
      form.querySelectorAll(".busy-note").forEach(function (n) { n.hidden = true; });
    });
  });
})();
