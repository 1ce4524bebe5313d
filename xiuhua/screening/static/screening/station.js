// The sampling station (采样点): one input for a handheld scanner (it types, then Enter) or a
// keyboard, and the camera (core's camera_scan.js) feeding the same path. No open tube: the scan
// is a tube barcode and starts it. An open tube: the scan is a person's sampling code. 封管 closes
// the tube; 装箱 takes a box barcode, then closed tubes into it; 交接 hands the box over.
//
// Nothing is lost offline: every scan is written to IndexedDB before anything else, and sent to
// the server in batches of up to BATCH, oldest first. A batch gets its key (stored with its scans)
// before it is sent, so a batch whose answer never arrived (a cut network, a reload, a crash) is
// sent again with the same key, and the server answers it as it did the first time without
// storing it twice. Scans leave IndexedDB only when the server's answer for them has arrived.
// The screen always shows how many scans wait to be sent.
(function () {
  "use strict";
  var root = document.getElementById("station");
  if (!root) return;
  var site = root.dataset.site;
  var texts = document.getElementById("station-texts").dataset;
  var input = document.getElementById("station-input");
  var BATCH = 50;
  var STORE = "scans";
  var STATE_KEY = "xiuhua-station-" + site;
  var csrf = root.dataset.csrf;
  var db = null;
  var sending = false;
  var retryMs = 1000;
  var retryTimer = null;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  // ------------------------------------------------------------ local state (the current tube, box)

  function loadState() {
    try {
      return JSON.parse(localStorage.getItem(STATE_KEY)) || {};
    } catch (e) {
      return {};
    }
  }
  var state = loadState();  // {tube, count, capacity, lastCapacity, box, mode}

  function saveState() {
    localStorage.setItem(STATE_KEY, JSON.stringify(state));
  }

  // ------------------------------------------------------------ IndexedDB

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("xiuhua-station", 1);
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, {keyPath: "id", autoIncrement: true});
        store.createIndex("site", "site");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function done(tx) {
    return new Promise(function (resolve, reject) {
      tx.oncomplete = function () { resolve(); };
      tx.onerror = tx.onabort = function () { reject(tx.error); };
    });
  }

  function addScan(event) {
    var tx = db.transaction(STORE, "readwrite");
    var request = tx.objectStore(STORE).add({site: site, event: event, key: null});
    return done(tx).then(function () { return request.result; });
  }

  function siteScans() {
    return new Promise(function (resolve, reject) {
      var request = db.transaction(STORE).objectStore(STORE).index("site").getAll(site);
      request.onsuccess = function () {
        resolve(request.result.sort(function (a, b) { return a.id - b.id; }));
      };
      request.onerror = function () { reject(request.error); };
    });
  }

  function newKey() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "s" + site + "-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // The next batch: the one already keyed (sent before, answer not seen), else the oldest scans,
  // keyed in the same transaction that reads them.
  function nextBatch() {
    return siteScans().then(function (scans) {
      if (!scans.length) return null;
      if (scans[0].key) {
        var key = scans[0].key;
        return {key: key, scans: scans.filter(function (s) { return s.key === key; })};
      }
      var fresh = scans.filter(function (s) { return !s.key; }).slice(0, BATCH);
      var batch = {key: newKey(), scans: fresh};
      var tx = db.transaction(STORE, "readwrite");
      fresh.forEach(function (scan) {
        scan.key = batch.key;
        tx.objectStore(STORE).put(scan);
      });
      return done(tx).then(function () { return batch; });
    });
  }

  function forget(scans) {
    var tx = db.transaction(STORE, "readwrite");
    scans.forEach(function (scan) { tx.objectStore(STORE).delete(scan.id); });
    return done(tx);
  }

  function showPending() {
    return siteScans().then(function (scans) {
      var line = document.getElementById("station-pending");
      line.textContent = fill(texts.pending, {n: scans.length});
      line.dataset.count = String(scans.length);
      line.classList.toggle("waiting", scans.length > 0);
    });
  }

  // ------------------------------------------------------------ sending

  function setNet(online) {
    var net = document.getElementById("station-net");
    net.textContent = online ? texts.online : texts.offline;
    net.className = "station-net " + (online ? "online" : "offline");
  }

  function later() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  }

  function freshToken() {
    // The session's CSRF secret changed (a new login): the page, from the server, has the new one.
    return fetch(window.location.href, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (response.redirected || !response.ok) return false;
      return response.text().then(function (html) {
        var found = /data-csrf="([^"]+)"/.exec(html);
        if (found) csrf = found[1];
        return Boolean(found);
      });
    });
  }

  function pump() {
    if (sending || !db) return;
    sending = true;
    nextBatch().then(function (batch) {
      if (!batch) { sending = false; return showPending(); }
      return fetch(root.dataset.batchUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({key: batch.key, events: batch.scans.map(function (s) { return s.event; })}),
      }).then(function (response) {
        if (response.redirected) {
          // The session ended (the login page answered): the scans stay here until a new login.
          sending = false;
          alertBig(texts.login);
          later();
          return null;
        }
        if (response.ok) {
          return response.json().then(function (answer) {
            return forget(batch.scans).then(function () {
              setNet(true);
              retryMs = 1000;
              answered(batch.scans, answer);
              sending = false;
              return showPending().then(pump);
            });
          });
        }
        return response.json().catch(function () { return {}; }).then(function (body) {
          sending = false;
          setNet(true);
          if (response.status === 403) {
            return freshToken().then(function (ok) {
              if (!ok) alertBig(fill(texts.stopped, {detail: body.detail || response.status}));
              later();
            });
          }
          if (response.status === 422 || response.status === 400) {
            alertBig(fill(texts.stopped, {detail: body.detail || response.status}));
          }
          later();
        });
      }, function () {
        sending = false;
        setNet(false);
        later();
      });
    }).catch(function () { sending = false; later(); });
  }

  // ------------------------------------------------------------ the screen

  function alertBig(message) {
    var box = document.getElementById("station-alert");
    box.textContent = message;
    box.hidden = false;
  }

  function logLine(id, text, css) {
    var list = document.getElementById("station-log");
    var item = document.getElementById("scan-" + id);
    if (!item) {
      item = document.createElement("li");
      item.id = "scan-" + id;
      list.insertBefore(item, list.firstChild);
      while (list.children.length > 30) list.removeChild(list.lastChild);
    }
    item.textContent = text;
    item.className = css || "";
  }

  function describe(event) {
    if (event.kind === "tube") return event.barcode;
    if (event.kind === "person") return event.code;
    if (event.kind === "box") return event.box + " ← " + event.tube;
    return event.box || event.tube || "";
  }

  function answered(scans, answer) {
    var lastRefusal = null;
    (answer.results || []).forEach(function (result, i) {
      var scan = scans[i];
      if (!scan) return;
      if (result.ok) {
        var message = result.message;
        var who = "";
        if (result.name) {
          who = [result.name, result.building, result.room].filter(Boolean).join(" ") + " · ";
          if (message.indexOf(result.name) === 0) message = message.slice(result.name.length).trim();
        }
        logLine(scan.id, who + message + (result.note ? "(" + result.note + ")" : ""), "ok");
        if (result.capacity && result.tube && result.tube === state.tube) {
          state.capacity = result.capacity;
          state.lastCapacity = result.capacity;
          if (result.status !== "open") { state.tube = null; }
        }
      } else {
        logLine(scan.id, texts.refused + ":" + describe(scan.event) + " · " + result.message, "refused");
        lastRefusal = result.message;
      }
    });
    saveState();
    render();
    if (lastRefusal) alertBig(lastRefusal);
    if (answer.counts) showCounts(answer.counts);
  }

  function showCounts(counts) {
    var box = document.getElementById("station-counts");
    box.textContent = "";
    counts.lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = fill(texts.lines, {line: line.line === null ? "-" : line.line, ten: line.last_10, hour: line.last_60});
      box.appendChild(p);
    });
    var total = document.createElement("p");
    total.textContent = fill(texts.totals, {people: counts.people, open: counts.tubes_open, closed: counts.tubes_closed,
                                            packing: counts.boxes_packing, handed: counts.boxes_handed_over});
    box.appendChild(total);
  }

  function render() {
    var mode = document.getElementById("station-mode");
    var tubeBox = document.getElementById("station-tube");
    if (state.mode === "box-code") mode.textContent = texts.scanBox;
    else if (state.mode === "box") mode.textContent = fill(texts.scanBoxTube, {box: state.box});
    else if (state.tube) mode.textContent = fill(texts.scanPerson, {tube: state.tube});
    else mode.textContent = texts.scanTube;
    tubeBox.hidden = !state.tube;
    document.getElementById("station-tube-code").textContent = state.tube || "";
    document.getElementById("station-tube-count").textContent = String(state.count || 0);
    document.getElementById("station-tube-capacity").textContent = String(state.capacity || 10);
    var boxing = state.mode === "box" || state.mode === "box-code";
    document.getElementById("station-hand-over").hidden = state.mode !== "box";
    document.getElementById("station-box-done").hidden = !boxing;
    document.getElementById("station-box").hidden = boxing;
    document.getElementById("station-close").disabled = !state.tube;
  }

  function record(event) {
    event.at = new Date().toISOString();
    return addScan(event).then(function (id) {
      logLine(id, describe(event) + " · " + texts.saved, "waiting");
      return showPending();
    }).then(pump);
  }

  function scanned(text) {
    document.getElementById("station-alert").hidden = true;
    if (state.mode === "box-code") {
      state.box = text;
      state.mode = "box";
    } else if (state.mode === "box") {
      record({kind: "box", box: state.box, tube: text});
    } else if (!state.tube) {
      state.tube = text.trim();
      state.count = 0;
      state.capacity = state.lastCapacity || 10;
      record({kind: "tube", barcode: text, line: document.getElementById("station-line").value || null});
    } else {
      state.count = (state.count || 0) + 1;
      record({kind: "person", tube: state.tube, code: text});
      if (state.count >= (state.capacity || 10)) state.tube = null;  // the server closes it when full
    }
    saveState();
    render();
  }

  document.getElementById("station-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    input.value = "";
    input.focus();
    if (text && db) scanned(text);
  });
  document.getElementById("station-close").addEventListener("click", function () {
    if (!state.tube) return;
    record({kind: "close", tube: state.tube});
    state.tube = null;
    saveState();
    render();
    input.focus();
  });
  document.getElementById("station-box").addEventListener("click", function () {
    state.mode = "box-code";
    saveState();
    render();
    input.focus();
  });
  document.getElementById("station-hand-over").addEventListener("click", function () {
    if (state.box) record({kind: "hand_over", box: state.box});
    state.mode = null;
    state.box = null;
    saveState();
    render();
    input.focus();
  });
  document.getElementById("station-box-done").addEventListener("click", function () {
    state.mode = null;
    saveState();
    render();
    input.focus();
  });
  // The camera reads codes into the same path as the scanner's typing.
  if (window.XiuhuaCamera) {
    window.XiuhuaCamera.attach({
      button: document.getElementById("station-camera"),
      video: document.getElementById("station-video"),
      status: document.getElementById("station-camera-status"),
      onText: function (text) {
        text = text.trim();
        if (text && db) scanned(text);
      },
    });
  } else {
    document.getElementById("station-camera").hidden = true;
  }
  var line = document.getElementById("station-line");
  if (state.line) line.value = state.line;
  line.addEventListener("change", function () { state.line = line.value; saveState(); });
  window.addEventListener("online", function () { retryMs = 1000; pump(); });
  window.addEventListener("offline", function () { setNet(false); });

  render();
  setNet(navigator.onLine);
  openDb().then(function (opened) {
    db = opened;
    root.dataset.ready = "1";
    return showPending();
  }).then(pump);

  function refreshCounts() {
    fetch(root.dataset.countsUrl, {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json().then(showCounts) : null;
    }).catch(function () {});
  }
  setInterval(refreshCounts, 30000);
  refreshCounts();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.swUrl, {scope: root.dataset.swScope}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var urls = [window.location.href];
      document.querySelectorAll("link[rel=stylesheet], script[src]").forEach(function (el) {
        urls.push(el.href || el.src);
      });
      // The camera's decoder is fetched only when the camera starts: cached now, for offline.
      document.querySelectorAll("script[data-wasm-url]").forEach(function (el) {
        urls.push(new URL(el.dataset.wasmUrl, window.location.href).href);
      });
      registration.active.postMessage({type: "cache", urls: urls});
      root.dataset.offlineReady = "1";
    }).catch(function () {});
  }
})();
