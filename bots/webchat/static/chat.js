// Heard web chat: send without reloading, and show new messages (officers' replies) as they come.
// The page works without this script; it only makes it nicer.
(function () {
  "use strict";
  var form = document.getElementById("chat");
  var log = document.getElementById("log");
  var choices = document.getElementById("choices");
  if (!form || !log || !window.fetch) return;
  var prefix = log.getAttribute("data-prefix");
  var last = parseInt(log.getAttribute("data-last") || "0", 10);
  var busy = false;

  function add(m) {
    if (m.id && document.querySelector('.msg[data-id="' + m.id + '"]')) return;
    var li = document.createElement("li");
    li.className = "msg " + m.from + (m.officer ? " officer" : "");
    li.setAttribute("data-id", m.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = (m.from === "you" ? "You" : (m.officer ? "Complaints team" : "Heard")) + ":";
    var text = document.createElement("span");
    text.className = "text";
    // References stay whole on one line, as the page renders them.
    String(m.text).split(/(CSC-\d{4}-\d{5})/).forEach(function (part, i) {
      if (i % 2) {
        var ref = document.createElement("span");
        ref.className = "ref"; ref.textContent = part;
        text.appendChild(ref);
      } else if (part) {
        text.appendChild(document.createTextNode(part));
      }
    });
    li.appendChild(who);
    li.appendChild(text);
    log.appendChild(li);
    if (m.id > last) last = m.id;
    if (m.from === "heard") showButtons(m.buttons || []);
  }

  function showButtons(buttons) {
    choices.textContent = "";
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "submit"; button.name = "button"; button.value = b.value;
      button.className = "choice"; button.textContent = b.label;
      choices.appendChild(button);
    });
  }

  function show(messages) {
    if (last === 0) log.textContent = "";  // the greeting shown before the first message is replaced by the record
    messages.forEach(add);
    form.elements.after.value = last;
    var end = log.lastElementChild;
    if (end) end.scrollIntoView({block: "end"});
  }

  // Each send waits for the one before, so words and button presses arrive in the order made.
  var queue = Promise.resolve();
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name === "button") data.set("button", event.submitter.value);
    else data.delete("button");
    if (!data.get("text") && !data.get("button")) return;
    form.elements.text.value = "";
    data.set("once", Math.random().toString(36).slice(2) + Date.now().toString(36));
    queue = queue.then(function () {
      busy = true;
      data.set("after", String(last));
      return fetch(prefix, {method: "POST", body: data, headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (body) { show(body.messages); })
        .catch(function () {  // sent again without script: the same `once`, so a post that did arrive is taken once
          form.elements.text.value = data.get("text") || ""; form.elements.once.value = data.get("once"); form.submit();
        })
        .then(function () { busy = false; });
    });
  });

  setInterval(function () {
    if (busy || document.hidden) return;
    fetch(prefix + "/messages?after=" + last, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {messages: []}; })
      .then(function (body) { if (body.messages.length) show(body.messages); })
      .catch(function () {});
  }, 3000);
})();
