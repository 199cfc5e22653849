// herald admin: progressive enhancement only. Every screen works without this file.
// - Live preview: a <textarea data-preview="ID"> shows its markdown, rendered and sanitised by
//   the server (POST /admin/preview, the public page's sanitiser), in the element ID.
// - Keyboard shortcuts (not while typing): "n" follows the link marked data-shortcut="n"
//   (report an incident), "/" focuses the field marked data-shortcut="/" (search).
"use strict";
(function () {
  function csrf(el) {
    var form = el.form || document.querySelector("form");
    var input = form && form.querySelector('input[name="csrf"]');
    return input ? input.value : "";
  }

  function wirePreview(area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    if (!target) return;
    var timer = null;
    var seq = 0;
    function render() {
      var mine = ++seq;
      var body = new URLSearchParams();
      body.set("csrf", csrf(area));
      body.set("body", area.value);
      fetch("/admin/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
      })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (mine !== seq) return;
          // The server's sanitiser made this HTML (the same as the public page's).
          target.innerHTML = html;
          target.hidden = html === "";
        })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    });
    if (area.value) render();
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    if (e.key === "n") {
      var link = document.querySelector('a[data-shortcut="n"]');
      if (link) { e.preventDefault(); window.location.assign(link.href); }
    } else if (e.key === "/") {
      var field = document.querySelector('[data-shortcut="/"]');
      if (field) { e.preventDefault(); field.focus(); }
    }
  });

  document.querySelectorAll("textarea[data-preview]").forEach(wirePreview);
})();
