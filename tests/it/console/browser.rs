//! A real Chromium, headless, driven through chromedriver by fantoccini. The harness starts chromedriver
//! itself on a free loopback port, one browser at a time (2 cores), and fails loudly when Chromium or
//! chromedriver is missing: the browser tests never skip. Chromium is Debian's (`/usr/bin/chromium`).
//! Screenshots of each main page go to `target/screenshots/`.

use fantoccini::{Client, ClientBuilder, Locator};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, MutexGuard};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One Chromium at a time: each costs a core while it starts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Where screenshots go: `target/screenshots/` (CI keeps nothing; a person can look locally).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    pub async fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the console's browser tests need Debian's Chromium \
                 (apt-get install -y chromium chromium-driver; .ci/run installs them)"
            );
        }
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log")).unwrap();
        // Its own process group, so a failed test's cleanup takes Chromium down with chromedriver.
        let driver = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("chromedriver starts");
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().join("profile").display()),
                ],
            },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let began = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(err) if began.elapsed() < Duration::from_secs(30) => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => {
                    let log = std::fs::read_to_string(profile.path().join("chromedriver.log")).unwrap_or_default();
                    panic!("Chromium did not start through chromedriver within 30 s: {err}\n{log}");
                }
            }
        };
        Self { client, driver, _profile: profile, _turn: turn }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}")).text().await.unwrap()
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Whether the element exists and is shown (not `hidden`, not `display: none`).
    pub async fn displayed(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Chooses the option of the `<select>` at `css` whose value is `value`.
    pub async fn choose(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"));
        field.select_by_value(value).await.unwrap_or_else(|e| panic!("choose {value} in {css}: {e}"));
    }

    /// Clicks what leads to another page and waits (bounded) until the browser is there; answers its URL.
    pub async fn follow(&self, css: &str) -> String {
        let from = self.client.current_url().await.unwrap().to_string();
        self.click(css).await;
        let began = Instant::now();
        loop {
            let now = self.client.current_url().await.unwrap().to_string();
            if now != from && self.exists("main").await {
                return now;
            }
            assert!(began.elapsed() < Duration::from_secs(10), "clicking {css} never left {from}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}")).click().await.unwrap();
    }

    /// Waits (bounded) until the element's text contains `wanted`; answers the text.
    pub async fn wait_text(&self, css: &str, wanted: &str, within: Duration) -> String {
        let began = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(wanted) {
                return text;
            }
            assert!(began.elapsed() < within, "{css} never showed {wanted:?} within {within:?}; it shows {text:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits (bounded) for a navigation to land on `wanted`: a click returns before the next page may.
    pub async fn wait_path(&self, wanted: &str) {
        let began = Instant::now();
        loop {
            let path = self.path().await;
            if path == wanted {
                return;
            }
            assert!(began.elapsed() < Duration::from_secs(10), "the browser never reached {wanted}; it is at {path}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) until `css` is on the page.
    pub async fn wait_for(&self, css: &str) {
        let began = Instant::now();
        while !self.exists(css).await {
            assert!(began.elapsed() < Duration::from_secs(10), "{css} never appeared on {}", self.path().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in on the console at `base` with `token`.
    pub async fn sign_in(&self, base: &str, token: &str) {
        self.goto(&format!("{base}/console/login")).await;
        self.fill("#token", token).await;
        self.click("#sign-in").await;
        self.wait_for("#signed-in-as").await;
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the browser session (Drop then stops chromedriver's whole process group).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.wait();
    }
}
