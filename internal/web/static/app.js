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
})();
