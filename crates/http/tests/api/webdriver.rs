//! A small W3C WebDriver client for the portal's browser tests: Debian's `chromedriver`
//! driving Debian's headless `chromium`, a fresh browser per test. `scripts/test.sh`
//! installs both; a machine without them fails the browser tests with a message saying
//! so, never skips them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    driver: Child,
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n))).find(|p| p.is_file())
}

impl Browser {
    pub async fn start() -> Browser {
        let driver_bin =
            find_binary(&["chromedriver"]).expect("chromedriver is needed for the portal's browser tests: apt-get install chromium chromium-driver (scripts/test.sh does this)");
        let chromium = find_binary(&["chromium", "chromium-browser"])
            .expect("chromium is needed for the portal's browser tests: apt-get install chromium chromium-driver (scripts/test.sh does this)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, so that the browser it starts is stopped with it.
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new(driver_bin).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0).spawn().expect("chromedriver starts")
        };
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=zh-CN"]
        }}}});
        let answer: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {answer}")).to_string();
        Browser { http, session: format!("{base}/session/{id}"), driver }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {method} {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The element `css` selects, waiting up to 5 s for it (htmx swaps pages in).
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            let v: Value = self.http.post(format!("{}/element", self.session)).json(&json!({"using": "css selector", "value": css})).send().await.unwrap().json().await.unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}:\n{}", self.url().await, self.body_text().await);
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/click"), None).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/clear"), None).await;
        self.call("POST", &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    /// Chooses a file for an `<input type=file>`.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/value"), Some(json!({ "text": path.to_string_lossy() }))).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.call("GET", &format!("/element/{el}/text"), None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''").await.as_str().unwrap_or_default().to_string()
    }

    /// Runs a script in the page and answers what it returns.
    pub async fn script(&self, js: &str) -> Value {
        let v: Value = self.http.post(format!("{}/execute/sync", self.session)).json(&json!({"script": js, "args": []})).send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    /// Waits (up to 10 s) until the element `css` is shown (`true`) or hidden.
    pub async fn wait_shown(&self, css: &str, shown: bool) {
        let el = self.find(css).await;
        for _ in 0..100 {
            if self.call("GET", &format!("/element/{el}/displayed"), None).await == json!(shown) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} was never {} on {}", if shown { "shown" } else { "hidden" }, self.url().await);
    }

    /// Waits until the page's text contains `needle` (up to 10 s: a busy CI machine
    /// checks passwords slowly).
    pub async fn wait_for_text(&self, needle: &str) -> String {
        for _ in 0..100 {
            let body = self.body_text().await;
            if body.contains(needle) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page at {} never showed {needle:?}:\n{}", self.url().await, self.body_text().await);
    }

    /// Saves a screenshot as `target/screenshots/NAME.png` (the test artefacts).
    pub async fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default()).unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// Presses Tab `n` times and returns the focused element's text (keyboard use).
    pub async fn tab_to(&self, n: usize) -> String {
        self.keys("\u{E004}", n).await;
        self.script("return document.activeElement ? document.activeElement.textContent : ''").await.as_str().unwrap_or_default().trim().to_string()
    }
}

impl Browser {
    async fn keys(&self, key: &str, times: usize) {
        let keys: Vec<Value> = (0..times).flat_map(|_| [json!({"type": "keyDown", "value": key}), json!({"type": "keyUp", "value": key})]).collect();
        self.call("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": keys}]}))).await;
    }

    /// Presses Tab until the element with this id has the focus (keyboard use only).
    pub async fn tab_until(&self, id: &str) {
        for _ in 0..40 {
            self.keys("\u{E004}", 1).await;
            if self.script("return document.activeElement ? document.activeElement.id : ''").await == id {
                return;
            }
        }
        panic!("Tab never reached #{id} on {}", self.url().await);
    }

    /// Presses Enter on the focused element.
    pub async fn press_enter(&self) {
        self.keys("\u{E007}", 1).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and every chromium process it started share one process group:
        // all of it is stopped, pass or fail (a browser left behind per test fills a
        // machine's memory).
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.driver.id())]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
