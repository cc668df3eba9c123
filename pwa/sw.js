// Tunebook's service worker. scripts/service-worker.sh fills in VERSION (a hash of the
// build's files), PRECACHE (every file of the build but notation's) and NOTATION (abcjs
// and the instrument samples) when Trunk builds the app, so each deploy gets a cache of
// its own and old caches are deleted.
//
// Notation is not fetched on install, so a first visit does not pay for it: each file
// is kept once used, and the first page that shows notation asks ("warm-notation") for
// all of it to be fetched in the background, so staff and playback work offline after.
//
// The app shell is served from the cache first, so after one online visit Tunebook
// starts with the network off and a repeat visit downloads nothing. Only same-origin
// GETs of the build's own files are answered here: requests to Supabase (another
// origin) and anything else go to the network untouched and are never cached.
const VERSION = "__VERSION__";
const CACHE = `tunebook-${VERSION}`;
const SHELL = "__PUBLIC_URL__";
const PRECACHE = [__PRECACHE__];
const NOTATION = [__NOTATION__];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" })))),
  );
  // No skipWaiting here: a new version waits until the page asks (the musician chose
  // "Reload"), so it never swaps code under an edit in progress.
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("tunebook-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
  if (event.data === "warm-notation") {
    event.waitUntil(
      caches.open(CACHE).then(async (cache) => {
        const have = new Set((await cache.keys()).map((r) => new URL(r.url).pathname));
        // One at a time: a background job that must not crowd out the app's own requests.
        for (const url of NOTATION.filter((u) => !have.has(u))) {
          try {
            await cache.add(url);
          } catch (_) {
            return; // Offline or gone: the next page with notation asks again.
          }
        }
      }),
    );
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Every app route is the same page.
    event.respondWith(caches.match(SHELL, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  if (NOTATION.includes(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(url.pathname).then(
          (hit) =>
            hit ||
            fetch(request).then((response) => {
              if (response.ok) cache.put(url.pathname, response.clone());
              return response;
            }),
        ),
      ),
    );
    return;
  }
  if (!PRECACHE.includes(url.pathname)) return;
  event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});
