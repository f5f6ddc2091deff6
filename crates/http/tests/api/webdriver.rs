//! The portal's browser tests drive Debian's headless `chromium` through Debian's
//! `chromedriver` with fantoccini (the W3C WebDriver protocol), a fresh browser per test.
//! What is here is the tests' vocabulary on top: waits for htmx swaps, keyboard use,
//! screenshots as artefacts, and the driver's whole process group stopped when a test
//! ends. `scripts/test.sh` installs both programs; a machine without them fails the
//! browser tests with a message saying so, never skips them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub struct Browser {
    client: Client,
    driver: Child,
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n))).find(|p| p.is_file())
}

/// A WebDriver command's failure, with what the test was doing.
fn failed<T>(what: &str) -> impl FnOnce(fantoccini::error::CmdError) -> T + '_ {
    move |e| panic!("webdriver {what}: {e}")
}

impl Browser {
    pub async fn start() -> Browser {
        let driver_bin =
            find_binary(&["chromedriver"]).expect("chromedriver is needed for the portal's browser tests: apt-get install chromium chromium-driver (scripts/test.sh does this)");
        let chromium = find_binary(&["chromium", "chromium-browser"])
            .expect("chromium is needed for the portal's browser tests: apt-get install chromium chromium-driver (scripts/test.sh does this)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, so that the browser it starts is stopped with it.
        let mut driver = {
            use std::os::unix::process::CommandExt;
            Command::new(driver_bin).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0).spawn().expect("chromedriver starts")
        };
        let caps = json!({"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=zh-CN"]
        }});
        let Value::Object(caps) = caps else { unreachable!("the capabilities are an object") };
        let url = format!("http://127.0.0.1:{port}");
        // The driver takes a moment to listen: try for up to 10 s.
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new()).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Browser { client, driver },
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = driver.kill();
        panic!("no browser session from chromedriver on port {port}: {}", last.unwrap_or_default());
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(failed("goto"));
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.map_or_else(failed("url"), |u| u.to_string())
    }

    /// The element `css` selects, waiting up to 5 s for it (htmx swaps pages in).
    pub async fn find(&self, css: &str) -> Element {
        for _ in 0..50 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                return el;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}:\n{}", self.url().await, self.body_text().await);
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(failed("click"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap_or_else(failed("clear"));
        el.send_keys(text).await.unwrap_or_else(failed("type"));
    }

    /// Chooses a file for an `<input type=file>`.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        self.find(css).await.send_keys(&path.to_string_lossy()).await.unwrap_or_else(failed("choose a file"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(failed("text"))
    }

    pub async fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''").await.as_str().unwrap_or_default().to_string()
    }

    /// Runs a script in the page and answers what it returns.
    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, Vec::new()).await.unwrap_or_else(failed("script"))
    }

    /// Waits (up to 10 s) until the element `css` is shown (`true`) or hidden.
    pub async fn wait_shown(&self, css: &str, shown: bool) {
        let el = self.find(css).await;
        for _ in 0..100 {
            if el.is_displayed().await.unwrap_or_else(failed("displayed")) == shown {
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
        let png = self.client.screenshot().await.unwrap_or_else(failed("screenshot"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Presses Tab `n` times and returns the focused element's text (keyboard use).
    pub async fn tab_to(&self, n: usize) -> String {
        self.keys(Key::Tab, n).await;
        self.script("return document.activeElement ? document.activeElement.textContent : ''").await.as_str().unwrap_or_default().trim().to_string()
    }

    async fn keys(&self, key: Key, times: usize) {
        let key = char::from(key);
        let presses = (0..times).fold(KeyActions::new("keyboard".into()), |a, _| a.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key }));
        self.client.perform_actions(presses).await.unwrap_or_else(failed("keys"));
    }

    /// Presses Tab until the element with this id has the focus (keyboard use only).
    pub async fn tab_until(&self, id: &str) {
        for _ in 0..40 {
            self.keys(Key::Tab, 1).await;
            if self.script("return document.activeElement ? document.activeElement.id : ''").await == id {
                return;
            }
        }
        panic!("Tab never reached #{id} on {}", self.url().await);
    }

    /// Presses Enter on the focused element.
    pub async fn press_enter(&self) {
        self.keys(Key::Enter, 1).await;
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
