// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Show 4xx pages (e.g. an upload error naming the bad row) instead of ignoring them.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "[45]..", swap: true, error: true },
      ];
    }
    tick();
    setInterval(tick, 30000);
  });
  // Upload progress of the manifest form (htmx reports the XHR's progress events).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("upload-bar");
    var state = document.getElementById("upload-state");
    if (!bar || !event.detail.lengthComputable) return;
    var pct = Math.round((event.detail.loaded / event.detail.total) * 100);
    bar.value = pct;
    state.textContent = pct < 100 ? pct + "% sent" : "uploaded; scoring…";
  });
  function fmt(seconds) {
    var m = Math.floor(Math.abs(seconds) / 60), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    m = m % 60;
    if (d) return d + " d " + h + " h";
    if (h) return h + " h " + (m < 10 ? "0" : "") + m + " min";
    return m + " min";
  }
  // Keep deadline countdowns current without reloading the page.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.dataset.deadline) - now) / 1000;
      el.textContent = left >= 0 ? "due in " + fmt(left) : "overdue by " + fmt(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
})();
