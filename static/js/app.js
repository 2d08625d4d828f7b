// Confirmations: <form data-confirm="Sentence?"> asks before it submits (no inline
// handlers: the Content-Security-Policy allows no inline script).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Copy buttons: <button data-copy="#id"> copies that element's text.
(function () {
  "use strict";
  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    var text = source.innerText.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); });
      return;
    }
    // Plain http (not localhost): select the text and use the old command.
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand("copy")) copied(button);
  });
})();

// Live dashboard: one websocket per page. Events name what changed; the page asks
// the server for the affected fragment (HTMX), so the server stays the only renderer.
// On every (re)connect all fragments are re-fetched: messages may have been missed.
(function () {
  "use strict";
  var badge = document.getElementById("live");
  if (!badge || !window.WebSocket) return;

  var FRAGMENTS = {
    "position.update": ["positions"],
    "signal.update": ["signals", "approvals", "signal-log", "executions", "strategies"],
    "execution.update": ["approvals", "signals", "signal-log", "executions"],
    "strategy.heartbeat": ["strategies"],
    "account.update": ["accounts"],
    "paper_account_update": ["accounts", "paper-summary", "paper-positions", "paper-orders", "paper-fills", "paper-metrics"],
    "paper_order_update": ["paper-orders"],
    "paper_fill_update": ["paper-fills", "paper-positions", "paper-summary", "paper-metrics"]
  };
  var ALL = ["approvals", "accounts", "positions", "signals", "signal-log", "executions", "strategies", "paper-summary", "paper-positions", "paper-orders", "paper-fills", "paper-metrics"];
  var delay = 500;

  function refresh(ids) {
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      if (el && window.htmx) window.htmx.trigger(el, "tf:refresh");
    });
  }

  function setState(live) {
    badge.textContent = live ? "live" : "reconnecting…";
    badge.className = "live " + (live ? "on" : "off");
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + badge.dataset.wsUrl);
    socket.onopen = function () {
      delay = 500;
      setState(true);
      refresh(ALL);
    };
    socket.onmessage = function (message) {
      var event = JSON.parse(message.data);
      refresh(FRAGMENTS[event.type] || []);
      document.dispatchEvent(new CustomEvent("tf:event", { detail: event }));
    };
    socket.onclose = function () {
      setState(false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();

// Risk page: its live sections ([data-live-account]) follow one account. They are
// re-fetched when that account's balance, status or positions change, and on every
// (re)connect of the socket above, which it announces by turning the badge "on".
(function () {
  "use strict";
  var badge = document.getElementById("live");
  if (!badge || !document.querySelector("[data-live-account]")) return;

  function refresh(accountId) {
    document.querySelectorAll("[data-live-account]").forEach(function (el) {
      if (accountId !== undefined && el.dataset.liveAccount !== String(accountId)) return;
      if (window.htmx) window.htmx.trigger(el, "tf:refresh");
    });
  }

  document.addEventListener("tf:event", function (e) {
    var type = e.detail && e.detail.type;
    if (type === "account.update" || type === "position.update") refresh(e.detail.account_id);
  });
  new MutationObserver(function () {
    if (badge.classList.contains("on")) refresh();
  }).observe(badge, { attributes: true, attributeFilter: ["class"] });
})();
