// Reads barcodes and QR codes through the device's camera, for pages that otherwise take a
// handheld scanner's typing: each code read is handed to the page as if it had been typed and
// Enter pressed. Frames are decoded by zxing-cpp compiled to WebAssembly (vendor/zxing-wasm),
// loaded from our own static files the first time the camera starts, so a page whose files a
// service worker keeps also scans offline.
//
// A code held in front of the camera is read once: the same text is taken again only after it
// has been out of sight for REPEAT_MS (the server refuses a second scan of a person anyway, and
// says so; a collector should not see that for a steady hand).
//
// Use: <script src=".../vendor/zxing-wasm/zxing-reader.js"></script> and
// <script src=".../camera_scan.js" data-wasm-url="{% static '.../zxing_reader.wasm' %}"></script>,
// then XiuhuaCamera.attach({button, video, status, onText}). The button's data-start, data-stop,
// data-starting, data-denied and data-unsupported give its texts in the page's language. The page
// needs 'wasm-unsafe-eval' in its script-src.
(function () {
  "use strict";
  var script = document.currentScript;
  var wasmUrl = script && script.dataset.wasmUrl;
  var REPEAT_MS = 2500;
  var FRAME_MS = 120;
  var MAX_WIDTH = 960;  // frames are scaled down to this: enough for a label at arm's length
  var FORMATS = ["QRCode", "Code128", "Code39", "Code93", "Codabar", "ITF", "EAN13", "DataMatrix"];
  var prepared = false;

  function prepare() {
    if (prepared || !window.ZXingWASM) return;
    window.ZXingWASM.prepareZXingModule({
      overrides: {locateFile: function (path, prefix) { return path.slice(-5) === ".wasm" ? wasmUrl : prefix + path; }},
    });
    prepared = true;
  }

  function attach(options) {
    var button = options.button;
    var video = options.video;
    var status = options.status;
    var texts = button.dataset;
    var stream = null;
    var timer = null;
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", {willReadFrequently: true});
    var last = {text: null, at: 0};

    function say(text, css) {
      if (!status) return;
      status.textContent = text || "";
      status.className = "camera-status " + (css || "");
      status.hidden = !text;
    }

    function show(running) {
      button.textContent = running ? texts.stop : texts.start;
      button.setAttribute("aria-pressed", running ? "true" : "false");
      video.hidden = !running;
      button.dataset.running = running ? "1" : "";
    }

    function stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      show(false);
    }

    function read() {
      timer = null;
      if (!stream) return;
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) { timer = setTimeout(read, FRAME_MS); return; }
      var scale = Math.min(1, MAX_WIDTH / width);
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var frame = context.getImageData(0, 0, canvas.width, canvas.height);
      window.ZXingWASM.readBarcodes(frame, {formats: FORMATS, maxNumberOfSymbols: 1, tryHarder: true})
        .then(function (results) {
          var now = Date.now();
          var found = results.filter(function (r) { return r.isValid && r.text; })[0];
          if (found) {
            var repeat = found.text === last.text && now - last.at < REPEAT_MS;
            last = {text: found.text, at: now};
            if (!repeat) {
              if (navigator.vibrate) navigator.vibrate(60);
              button.dataset.reads = String(Number(button.dataset.reads || 0) + 1);
              options.onText(found.text);
            }
          }
        }, function () {
          say(texts.unsupported, "refused");
          stop();
        })
        .then(function () { if (stream && !timer) timer = setTimeout(read, FRAME_MS); });
    }

    function start() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.ZXingWASM) {
        say(texts.unsupported, "refused");
        return;
      }
      prepare();
      say(texts.starting);
      navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {facingMode: {ideal: "environment"}, width: {ideal: 1280}, height: {ideal: 720}},
      }).then(function (opened) {
        stream = opened;
        video.srcObject = stream;
        video.setAttribute("playsinline", "");
        video.muted = true;
        show(true);
        say("");
        return video.play().then(read);
      }).catch(function (error) {
        stop();
        say(error && error.name === "NotAllowedError" ? texts.denied : texts.unsupported, "refused");
      });
    }

    button.addEventListener("click", function () {
      if (stream) stop(); else start();
      if (options.afterToggle) options.afterToggle();
    });
    // A camera left on in a pocket drains the battery: a hidden page lets it go.
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && stream) stop();
    });
    show(false);
    return {stop: stop};
  }

  window.XiuhuaCamera = {attach: attach};
})();
