// Live dashboard: one websocket per page. Events name what changed; the page asks
// the server for the affected fragment (HTMX), so the server stays the only renderer.
// On every (re)connect all fragments are re-fetched: messages may have been missed.
(function () {
  "use strict";
  var badge = document.getElementById("live");
  if (!badge || !window.WebSocket) return;

  var FRAGMENTS = {
    "position.update": ["positions"],
    "signal.update": ["signals"],
    "account.update": ["accounts"],
    "paper_account_update": ["accounts", "paper-summary", "paper-positions", "paper-orders", "paper-fills", "paper-metrics"],
    "paper_order_update": ["paper-orders"],
    "paper_fill_update": ["paper-fills", "paper-positions", "paper-summary", "paper-metrics"]
  };
  var ALL = ["accounts", "positions", "signals", "paper-summary", "paper-positions", "paper-orders", "paper-fills", "paper-metrics"];
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
