// Tunebook's service worker. scripts/service-worker.sh fills in VERSION (a hash of the
// build's files) and PRECACHE (every file of the build) when Trunk builds the app, so
// each deploy gets a cache of its own and old caches are deleted.
//
// The app shell is served from the cache first, so after one online visit Tunebook
// starts with the network off and a repeat visit downloads nothing. Only same-origin
// GETs of the build's own files are answered here: requests to Supabase (another
// origin) and anything else go to the network untouched and are never cached.
const VERSION = "__VERSION__";
const CACHE = `tunebook-${VERSION}`;
const SHELL = "__PUBLIC_URL__";
const PRECACHE = [__PRECACHE__];

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
  if (!PRECACHE.includes(url.pathname)) return;
  event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});
