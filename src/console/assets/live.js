// Follows a running run: its output as it comes, then its final state (badge, exit code, duration,
// buttons) without a reload. The one piece of the console that needs JavaScript.
(function () {
  var log = document.getElementById("log");
  if (!log || !log.dataset.stream || !window.EventSource) return;
  var status = document.getElementById("live-status");
  var source = new EventSource(log.dataset.stream);
  log.textContent = "";
  source.onmessage = function (event) {
    log.textContent += JSON.parse(event.data);
    log.scrollTop = log.scrollHeight;
  };
  function show(id, text) {
    var element = document.getElementById(id);
    if (element) element.textContent = text;
  }
  source.addEventListener("end", function (event) {
    source.close();
    var end = JSON.parse(event.data);
    if (status) status.textContent = "run ended: " + end.status;
    var badge = document.getElementById("run-status");
    if (badge && end.exit_code !== undefined) {
      badge.textContent = end.status;
      badge.className = "badge " + end.status;
      show("run-exit", end.exit_code === null ? "" : " exit " + end.exit_code);
      show("run-took", end.took);
      var cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
      var requeue = document.getElementById("requeue-form");
      if (requeue) requeue.hidden = false;
    }
  });
  source.onerror = function () {
    if (status) status.textContent = "live log disconnected; reload to see the stored output";
    source.close();
  };
})();
