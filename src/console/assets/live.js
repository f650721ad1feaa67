// Follows a running run's output: the one piece of the console that needs JavaScript.
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
  source.addEventListener("end", function (event) {
    source.close();
    if (status) status.textContent = "run ended: " + JSON.parse(event.data);
  });
  source.onerror = function () {
    if (status) status.textContent = "live log disconnected; reload to see the stored output";
    source.close();
  };
})();
