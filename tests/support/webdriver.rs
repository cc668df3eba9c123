//! A small W3C WebDriver client for end-to-end tests: starts chromedriver and a headless
//! Chromium with its own profile, and finds things the way a musician (or a screen
//! reader) does: inputs by their label, buttons and links by their visible text.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a `wait_for` polls before failing the test.
pub const WAIT: Duration = Duration::from_secs(20);

/// The Chromium flags every test browser needs here (root, no network, no GPU).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1200,900",
];

/// A reference to a DOM element in the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A headless Chromium driven through chromedriver. Quits when dropped.
pub struct Browser {
    agent: ureq::Agent,
    session: String,
    driver: Child,
    profile: PathBuf,
    owns_profile: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Browser {
    /// A browser with a fresh, throwaway profile.
    pub fn start() -> Self {
        let profile =
            std::env::temp_dir().join(format!("tunebook-e2e-{}", tunebook_core::domain::Uuid::now_v7()));
        let mut browser = Self::start_with_profile(&profile);
        browser.owns_profile = true;
        browser
    }

    /// A browser on the given profile directory (kept afterwards: a later browser on the
    /// same directory sees the same storage, as after a browser restart).
    pub fn start_with_profile(profile: &Path) -> Self {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let log_dir = std::env::var_os("TUNEBOOK_E2E_LOG_DIR").map(PathBuf::from);
        let mut driver = Command::new(&chromedriver);
        driver.arg(format!("--port={port}"));
        if let Some(dir) = &log_dir {
            driver
                .arg("--verbose")
                .arg(format!("--log-path={}", dir.join(format!("chromedriver-{port}.log")).display()));
        }
        let stderr = match &log_dir {
            Some(dir) => std::fs::File::create(dir.join(format!("chromium-{port}.log")))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
            None => Stdio::null(),
        };
        let driver =
            driver.stdout(Stdio::null()).stderr(stderr).spawn().unwrap_or_else(|e| {
                panic!("cannot start {chromedriver}: {e} (the test command installs it)")
            });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        if log_dir.is_some() {
            args.extend(["--enable-logging=stderr".to_string(), "--v=0".to_string()]);
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let reply: Value = agent
            .post(&format!("{base}/session"))
            .send_json(&caps)
            .expect("new session")
            .body_mut()
            .read_json()
            .expect("session reply");
        let id =
            reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {reply}")).to_string();
        Self {
            agent,
            session: format!("{base}/session/{id}"),
            driver,
            profile: profile.to_path_buf(),
            owns_profile: false,
        }
    }

    /// Sends one WebDriver command; returns its `value` or the WebDriver error.
    pub fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.session, path);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let reply: Value = response.body_mut().read_json().map_err(|e| format!("{method} {path}: {e}"))?;
        if status.is_success() {
            Ok(reply["value"].clone())
        } else {
            Err(format!("{method} {path}: {status} {}", reply["value"]))
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn refresh(&self) {
        self.cmd("POST", "/refresh", None);
    }

    /// Files of the origin private file system (where Tunebook's SQLite lives) on disk in
    /// this browser's profile that contain `needle`.
    pub fn opfs_files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        fn walk(dir: &Path, in_opfs: bool, needle: &[u8], found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                let inside = in_opfs || entry.file_name() == "File System";
                if path.is_dir() {
                    walk(&path, inside, needle, found);
                } else if inside
                    && std::fs::read(&path)
                        .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.profile, false, needle, &mut found);
        found
    }

    /// The browser's Back button.
    pub fn back(&self) {
        self.cmd("POST", "/back", None);
    }

    /// Presses and releases one key (a character, or a WebDriver key code such as
    /// `\u{E00C}` for Escape) wherever the focus is.
    pub fn press_key(&self, key: &str) {
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]})),
        );
        let _ = self.try_cmd("DELETE", "/actions", None);
    }

    /// The document's title.
    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap_or_default().to_string()
    }

    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// Runs a script in the page; `arguments[i]` are `args` (elements pass as references).
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Runs an async script: it must call `arguments[arguments.length - 1](result)`.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    /// The page's visible text.
    pub fn body_text(&self) -> String {
        self.execute("return document.body.innerText", vec![]).as_str().unwrap_or_default().to_string()
    }

    fn element_from(value: &Value) -> Option<Element> {
        value.get(ELEMENT_KEY).and_then(Value::as_str).map(|id| Element(id.to_string()))
    }

    /// The first element matching an XPath expression, if any.
    pub fn xpath(&self, xpath: &str) -> Option<Element> {
        let found =
            self.try_cmd("POST", "/elements", Some(json!({"using": "xpath", "value": xpath}))).ok()?;
        found.as_array()?.first().and_then(Self::element_from)
    }

    /// Every element matching a CSS selector.
    pub fn css_all(&self, selector: &str) -> Vec<Element> {
        self.try_cmd("POST", "/elements", Some(json!({"using": "css selector", "value": selector})))
            .ok()
            .and_then(|v| v.as_array().map(|a| a.iter().filter_map(Self::element_from).collect()))
            .unwrap_or_default()
    }

    /// The input, select or textarea whose `<label for>` reads `label`
    /// (a trailing "(required)" marker is ignored).
    pub fn field(&self, label: &str) -> Option<Element> {
        let found = self.execute(
            "const want = arguments[0];
             for (const l of document.querySelectorAll('label')) {
               const text = l.textContent.replace(/\\s*\\(required\\)\\s*$/, '').trim();
               if (text === want && l.htmlFor) return document.getElementById(l.htmlFor);
             }
             return null;",
            vec![json!(label)],
        );
        Self::element_from(&found)
    }

    /// The enabled-or-not button whose visible text is `text`.
    pub fn button(&self, text: &str) -> Option<Element> {
        self.xpath(&format!("//button[normalize-space()={}]", xpath_literal(text)))
    }

    /// The link whose visible text is `text`.
    pub fn link(&self, text: &str) -> Option<Element> {
        self.xpath(&format!("//a[normalize-space()={}]", xpath_literal(text)))
    }

    /// Polls `probe` until it returns `Some`, or fails the test describing `what` and
    /// what the page showed.
    pub fn wait_for<T>(&self, what: &str, mut probe: impl FnMut(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if Instant::now() > deadline {
                let shot = self.save_failure_screenshot(what);
                panic!(
                    "timed out waiting for {what}\n--- page ({}) ---\n{}\n--- screenshot: {} ---",
                    self.current_url(),
                    self.body_text(),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Waits until the page text contains `text`.
    pub fn wait_for_text(&self, text: &str) {
        self.wait_for(&format!("text {text:?}"), |b| b.body_text().contains(text).then_some(()));
    }

    pub fn wait_for_field(&self, label: &str) -> Element {
        self.wait_for(&format!("field labelled {label:?}"), |b| b.field(label))
    }

    pub fn wait_for_button(&self, text: &str) -> Element {
        self.wait_for(&format!("button {text:?}"), |b| b.button(text))
    }

    pub fn wait_for_link(&self, text: &str) -> Element {
        self.wait_for(&format!("link {text:?}"), |b| b.link(text))
    }

    /// Finds an element with `find` and acts on it with `act`, waiting for it to appear, and
    /// finding it again when the page re-rendered it in between (a stale reference is the
    /// page moving on, not a failure). Any other WebDriver error fails the test.
    fn act_on<T>(
        &self,
        what: &str,
        find: impl Fn(&Browser) -> Option<Element>,
        act: impl Fn(&Browser, &Element) -> Result<T, String>,
    ) -> T {
        self.wait_for(what, |b| match act(b, &find(b)?) {
            Ok(done) => Some(done),
            Err(e) if e.contains("stale element") => None,
            Err(e) => panic!("{e}"),
        })
    }

    /// Clicks the button with this visible text (waiting for it).
    pub fn click_button(&self, text: &str) {
        self.act_on(&format!("button {text:?}"), |b| b.button(text), Browser::try_click);
    }

    /// Clicks the link with this visible text (waiting for it).
    pub fn click_link(&self, text: &str) {
        self.act_on(&format!("link {text:?}"), |b| b.link(text), Browser::try_click);
    }

    /// Clicks the field labelled `label` (a checkbox, say), waiting for it.
    pub fn click_field(&self, label: &str) {
        self.act_on(&format!("field labelled {label:?}"), |b| b.field(label), Browser::try_click);
    }

    /// Sets the field labelled `label` to `value`: picks the option in a `<select>`,
    /// replaces the text of anything else.
    pub fn fill(&self, label: &str, value: &str) {
        self.act_on(
            &format!("field labelled {label:?}"),
            |b| b.field(label),
            |b, field| {
                let tag = b.try_cmd("GET", &format!("/element/{}/property/tagName", field.0), None)?;
                if tag == "SELECT" {
                    b.try_select_option(field, value)
                } else {
                    b.try_replace_text(field, value)
                }
            },
        );
    }

    /// The sync status in the header.
    pub fn sync_status(&self) -> String {
        self.css_all(".sync-status").first().map(|e| self.text(e)).unwrap_or_default()
    }

    /// Waits until the header's sync status reads `wanted`.
    pub fn wait_for_status(&self, wanted: &str) {
        self.wait_for(&format!("sync status {wanted:?}"), |b| (b.sync_status() == wanted).then_some(()));
    }

    /// Opens the benchmark page at `url` and waits (up to ten minutes) for the JSON it
    /// leaves in `window.__tunebookBench`; fails if the page reports an error.
    pub fn bench_results(&self, url: &str) -> Value {
        self.goto(url);
        let deadline = Instant::now() + Duration::from_secs(600);
        let results: Value = loop {
            if let Some(text) = self.execute("return window.__tunebookBench || null", vec![]).as_str() {
                break serde_json::from_str(text).unwrap_or_else(|e| panic!("benchmark JSON: {e}"));
            }
            assert!(Instant::now() < deadline, "the benchmark page did not finish");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(results.get("error").is_none(), "the benchmark page failed: {results}");
        results
    }

    /// Opens `url` and returns ms from navigation start to the app's first-rows mark.
    pub fn first_rows_painted(&self, url: &str) -> f64 {
        self.goto(url);
        self.wait_for("first rows painted", |b| {
            b.execute(
                "const m = performance.getEntriesByName('tunebook:first-rows'); return m.length ? m[0].startTime : null;",
                vec![],
            )
            .as_f64()
        })
    }

    pub fn click(&self, el: &Element) {
        self.try_click(el).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_click(&self, el: &Element) -> Result<(), String> {
        self.try_cmd("POST", &format!("/element/{}/click", el.0), None).map(drop)
    }

    /// Types into an element (appending to what it holds).
    pub fn type_text(&self, el: &Element, text: &str) {
        self.try_type_text(el, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_type_text(&self, el: &Element, text: &str) -> Result<(), String> {
        self.try_cmd("POST", &format!("/element/{}/value", el.0), Some(json!({ "text": text }))).map(drop)
    }

    /// Replaces an input's text the way a person does: select all, delete, type.
    pub fn replace_text(&self, el: &Element, text: &str) {
        self.try_replace_text(el, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_replace_text(&self, el: &Element, text: &str) -> Result<(), String> {
        self.try_type_text(el, "\u{E009}a\u{E000}\u{E003}")?;
        if !text.is_empty() {
            self.try_type_text(el, text)?;
        }
        Ok(())
    }

    /// Picks the option with visible text `text` in a `<select>`.
    pub fn select_option(&self, select: &Element, text: &str) {
        self.try_select_option(select, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_select_option(&self, select: &Element, text: &str) -> Result<(), String> {
        let option = self.try_cmd(
            "POST",
            &format!("/element/{}/element", select.0),
            Some(json!({"using": "xpath", "value": format!("./option[normalize-space()={}]", xpath_literal(text))})),
        )?;
        let option = Self::element_from(&option).ok_or_else(|| format!("no option {text:?}"))?;
        self.try_click(&option)
    }

    pub fn text(&self, el: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None).as_str().unwrap_or_default().to_string()
    }

    /// A DOM property (e.g. `value`, `disabled`).
    pub fn property(&self, el: &Element, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None)
    }

    pub fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None).as_str().map(str::to_string)
    }

    /// The text of an open `alert`/`confirm`, if one is showing.
    pub fn alert_text(&self) -> Option<String> {
        self.try_cmd("GET", "/alert/text", None).ok().and_then(|v| v.as_str().map(str::to_string))
    }

    pub fn accept_alert(&self) {
        self.cmd("POST", "/alert/accept", None);
    }

    pub fn dismiss_alert(&self) {
        self.cmd("POST", "/alert/dismiss", None);
    }

    /// Opens a new tab and switches to it; returns its handle.
    pub fn new_tab(&self) -> String {
        let handle = self.cmd("POST", "/window/new", Some(json!({"type": "tab"})));
        let handle = handle["handle"].as_str().unwrap_or_default().to_string();
        self.switch_to(&handle);
        handle
    }

    /// Closes the current tab (switch to another one afterwards).
    pub fn close_tab(&self) {
        self.cmd("DELETE", "/window", None);
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        self.cmd("GET", "/window", None).as_str().unwrap_or_default().to_string()
    }

    pub fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(json!({ "handle": handle })));
    }

    /// Sends a Chrome DevTools Protocol command (network emulation, app manifest checks).
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.cmd("POST", "/goog/cdp/execute", Some(json!({ "cmd": command, "params": params })))
    }

    /// Evaluates `expression` inside the page's dedicated worker (through the DevTools
    /// protocol: the page itself has no handle on it). Fire and forget.
    pub fn run_in_worker(&self, expression: &str) {
        let targets = self.cdp("Target.getTargets", json!({}));
        let worker = targets["targetInfos"]
            .as_array()
            .and_then(|all| all.iter().find(|t| t["type"] == "worker"))
            .and_then(|t| t["targetId"].as_str())
            .unwrap_or_else(|| panic!("no worker target: {targets}"))
            .to_string();
        let attached = self.cdp("Target.attachToTarget", json!({"targetId": worker, "flatten": false}));
        let session = attached["sessionId"].as_str().unwrap_or_default().to_string();
        let message = json!({"id": 1, "method": "Runtime.evaluate", "params": {"expression": expression}});
        self.cdp("Target.sendMessageToTarget", json!({"sessionId": session, "message": message.to_string()}));
    }

    /// Cuts the page (and its workers) off the network, or restores it.
    pub fn set_offline(&self, offline: bool) {
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        );
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let data = self.cmd("GET", "/screenshot", None);
        let bytes = decode_base64(data.as_str().unwrap_or_default());
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, bytes);
    }

    fn save_failure_screenshot(&self, what: &str) -> PathBuf {
        let name: String = what.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-failures").join(format!("{name}.png"));
        self.screenshot(&path);
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.try_cmd("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // With TUNEBOOK_E2E_LOG_DIR set the profile stays, crash reports and all.
        if self.owns_profile && std::env::var_os("TUNEBOOK_E2E_LOG_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// An XPath string literal for any text (XPath 1.0 has no escapes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
