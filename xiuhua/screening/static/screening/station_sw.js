// The sampling station's service worker: keeps the station page and its files in a cache, so that
// a reload with no network (or no server) still opens the page, whose scans wait in IndexedDB.
//
// Served by the view at /screening/station/sw.js, so that its scope covers the station pages.
// GETs of the station pages and of /static/ are answered from the network, or from the cache
// when the network fails or is slow; the batch POSTs go to the network only (the page keeps the
// scans until the server has them); other requests are left alone.
"use strict";

var CACHE = "xiuhua-station-v3";
var PAGE = /^\/screening\/station\/\d+\/$/;
var NETWORK_WAIT_MS = 4000;  // a page the server does not give in this time comes from the cache

self.addEventListener("install", function (event) {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("xiuhua-station-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page, once the worker is ready, names itself and the files it loaded: cached at once, so
// the first visit is enough to work offline.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache" || !Array.isArray(data.urls)) return;
  var urls = data.urls.filter(function (url) {
    var parsed = new URL(url, self.location.href);
    return parsed.origin === self.location.origin && (PAGE.test(parsed.pathname) || parsed.pathname.indexOf("/static/") === 0);
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return fetch(url, {credentials: "same-origin"}).then(function (response) {
        if (response.ok && !response.redirected) return cache.put(url, response);
      }).catch(function () {});
    }));
  }));
});

function fromCache(request) {
  return caches.match(request, {ignoreSearch: true}).then(function (found) {
    return found || Response.error();
  });
}

function networkThenCache(request) {
  return new Promise(function (resolve) {
    var settled = false;
    var timer = setTimeout(function () {
      settled = true;
      resolve(fromCache(request));
    }, NETWORK_WAIT_MS);
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        // A login page (the session ended) or a server error: the cached page still scans.
        resolve(response.ok && !response.redirected ? response : fromCache(request).then(function (cached) {
          return cached.type === "error" ? response : cached;
        }));
      }
    }, function () {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(fromCache(request));
      }
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // A batch goes to the network from here, never from a cache: the page keeps its scans until
    // the server's answer comes back through this same fetch.
    if (url.pathname.indexOf("/screening/station/") === 0) event.respondWith(fetch(request));
    return;
  }
  if (request.mode === "navigate" && PAGE.test(url.pathname)) {
    event.respondWith(networkThenCache(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(networkThenCache(request));
  }
});
