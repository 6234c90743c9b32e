// Keyboard for the triage queue: j/k move between rows, x ticks the row, c confirms it as
// suggested, e opens its correction, o opens its case; a box ticks every row on the page.
// Everything also works without this file (plain forms and links).
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  if (!rows.length) return;
  var current = -1;
  var all = document.querySelector("[data-pick-all]");
  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      rows.forEach(function (r) { r.querySelector("[data-pick]").checked = all.checked; });
    });
  }
  function typing(el) { return el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && el.type !== "checkbox"; }
  function go(i) {
    if (i < 0 || i >= rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = i;
    rows[i].classList.add("current");
    rows[i].querySelector("[data-confirm]").focus();
  }
  // After confirming a row the next one is ready: the keyboard never has to find its place again.
  if (/[?&]done=/.test(location.search)) go(0);
  document.addEventListener("focusin", function (e) {
    var i = rows.findIndex(function (r) { return r.contains(e.target); });
    if (i >= 0 && i !== current) { if (current >= 0) rows[current].classList.remove("current"); current = i; rows[i].classList.add("current"); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (typing(document.activeElement) && e.key !== "Escape") return;
    if (e.key === "j") { e.preventDefault(); go(current + 1); }
    else if (e.key === "k") { e.preventDefault(); go(Math.max(0, current - 1)); }
    else if (e.key === "c" && current >= 0) { e.preventDefault(); rows[current].querySelector("[data-confirm]").click(); }
    else if (e.key === "e" && current >= 0) { e.preventDefault(); rows[current].querySelector("a[data-correct]").click(); }
    else if (e.key === "x" && current >= 0) { e.preventDefault(); rows[current].querySelector("[data-pick]").click(); }
    else if (e.key === "o" && current >= 0) { e.preventDefault(); rows[current].querySelector("a[data-open]").click(); }
    else if (e.key === "Escape") { document.activeElement.blur(); }
  });
})();
