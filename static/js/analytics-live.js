// Live analytics pages: a websocket says "a rollup committed"; the page re-fetches its figures region
// (the same view rendering only its partial) and swaps it in, so numbers update without a reload.
(function () {
  "use strict";
  var regions = document.querySelectorAll("[data-live-region]");
  if (!regions.length || !("WebSocket" in window)) { return; }

  function refresh() {
    regions.forEach(function (region) {
      var url = new URL(window.location.href);
      url.searchParams.set("partial", region.dataset.partial);
      fetch(url.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          region.innerHTML = html;
          region.dataset.liveVersion = String((Number(region.dataset.liveVersion) || 0) + 1);
        })
        .catch(function () { /* the next notification retries */ });
    });
  }

  var delay = 1000;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/analytics/");
    socket.addEventListener("open", function () { delay = 1000; document.body.dataset.live = "connected"; });
    socket.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "rollup") { refresh(); }
    });
    socket.addEventListener("close", function () {
      document.body.dataset.live = "disconnected";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}());
