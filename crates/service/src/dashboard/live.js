// The run page while its run is queued or running: new log lines and the rung timeline
// arrive as server-sent events; when the run ends the page reloads to show its results.
// Without JavaScript the page still shows the log so far.
(function () {
  var log = document.getElementById("live-log");
  var timeline = document.getElementById("live-timeline");
  if (!log || !log.dataset.stream || !window.EventSource) return;
  var stream = new EventSource(log.dataset.stream);
  stream.addEventListener("log", function (e) {
    var following = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.appendChild(document.createTextNode(e.data + "\n"));
    if (following) log.scrollTop = log.scrollHeight;
  });
  stream.addEventListener("timeline", function (e) {
    if (timeline) timeline.innerHTML = e.data;
  });
  stream.addEventListener("end", function () {
    stream.close();
    log.dataset.ended = "true";
    setTimeout(function () { location.reload(); }, 1500);
  });
})();
