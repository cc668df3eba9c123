//! The installable-app edge: registers the service worker, notices when a new version is
//! waiting (and applies it only when the musician says so), and asks the browser to keep
//! Tunebook's storage. Browser APIs with no Rust-side logic, so they are a few lines of
//! JavaScript.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function register_service_worker(on_update) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(new URL("sw.js", document.baseURI), { updateViaCache: "none" }).then((reg) => {
    const notify = () => { if (reg.waiting && navigator.serviceWorker.controller) on_update(); };
    notify();
    reg.addEventListener("updatefound", () => {
      const next = reg.installing;
      if (next) next.addEventListener("statechange", () => { if (next.state === "installed") notify(); });
    });
    const check = () => reg.update().catch(() => {});
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") check(); });
    setInterval(check, 30 * 60 * 1000);
  }).catch((e) => console.warn("Tunebook: service worker registration failed", e));
}

export function apply_update() {
  navigator.serviceWorker.getRegistration().then((reg) => {
    if (!reg || !reg.waiting) { location.reload(); return; }
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    reg.waiting.postMessage("skip-waiting");
  });
}

export async function storage_status() {
  const storage = navigator.storage;
  const persisted = storage && storage.persisted ? await storage.persisted() : false;
  const estimate = storage && storage.estimate ? await storage.estimate() : {};
  return { persisted, usage: estimate.usage ?? null, quota: estimate.quota ?? null };
}

export async function request_persistence() {
  const storage = navigator.storage;
  return storage && storage.persist ? storage.persist() : false;
}
"#)]
extern "C" {
    fn register_service_worker(on_update: &Closure<dyn FnMut()>);
    fn apply_update();
    fn storage_status() -> js_sys::Promise;
    fn request_persistence() -> js_sys::Promise;
}

/// Registers the service worker; `on_update` runs when a new version is waiting.
pub fn register(on_update: impl FnMut() + 'static) {
    let callback = Closure::<dyn FnMut()>::new(on_update);
    register_service_worker(&callback);
    // The worker may report an update at any time while the page lives.
    callback.forget();
}

/// Switches to the waiting version and reloads.
pub fn reload_to_update() {
    apply_update();
}

/// Whether storage is persistent, and how much is used of how much (bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StorageStatus {
    pub persisted: bool,
    pub usage: Option<f64>,
    pub quota: Option<f64>,
}

/// Reads the storage status.
pub async fn status() -> StorageStatus {
    let Ok(value) = wasm_bindgen_futures::JsFuture::from(storage_status()).await else {
        return StorageStatus::default();
    };
    let get = |key: &str| js_sys::Reflect::get(&value, &key.into()).ok();
    StorageStatus {
        persisted: get("persisted").and_then(|v| v.as_bool()).unwrap_or(false),
        usage: get("usage").and_then(|v| v.as_f64()),
        quota: get("quota").and_then(|v| v.as_f64()),
    }
}

/// Asks the browser not to evict Tunebook's storage (Safari, for one, clears it after
/// weeks without a visit otherwise). Returns whether it was granted.
pub async fn persist() -> bool {
    wasm_bindgen_futures::JsFuture::from(request_persistence())
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
