//! A real headless Chromium driven over WebDriver (fantoccini + chromium-driver) against a real
//! `arca server` process, with the helpers a walk reads like: `goto`, `fill`, `click`,
//! `text_of`, `wait_for_path`, `axe_check`, `screenshot`.
//!
//! Each `Browser` gets its own chromedriver (on a port the OS picks: `--port=0`, read back from
//! its first lines), its own Chromium profile folder and its own server with its own data, so
//! tests share nothing and run in parallel. Dropping it stops chromedriver's whole process
//! group, Chromium included, also when a test panics.

use crate::support::{ArcaServer, Spawned, workspace_root};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take to show what a walk waits for.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// The variable that turns a missing browser or axe-core into a failure (CI) instead of a skip.
const REQUIRE: &str = "ARCA_REQUIRE_BROWSER";

/// axe-core's browser bundle, which scripts/test.sh installs with npm (it is not committed).
fn axe_path() -> PathBuf {
    workspace_root().join(".test-env/axe/node_modules/axe-core/axe.min.js")
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// Says why the browser tests cannot run here: skipped, or failed under `ARCA_REQUIRE_BROWSER=1`.
fn skip<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var(REQUIRE).as_deref() != Ok("1"),
        "{REQUIRE}=1 but {what}: run scripts/test.sh, which installs it"
    );
    eprintln!(
        "skipped: {what} (scripts/test.sh installs it); set {REQUIRE}=1 to make this a failure"
    );
    None
}

/// What a browser test needs installed.
pub struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
    axe: String,
}

impl Tools {
    /// The installed tools, or `None` after saying what is missing.
    pub fn find() -> Option<Tools> {
        let Some(chromedriver) = on_path("chromedriver") else {
            return skip("chromedriver is not installed (Debian: chromium-driver)");
        };
        let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| on_path(name))
        else {
            return skip("Chromium is not installed (Debian: chromium)");
        };
        let Ok(axe) = std::fs::read_to_string(axe_path()) else {
            return skip(&format!("axe-core is not at {}", axe_path().display()));
        };
        Some(Tools {
            chromedriver,
            chromium,
            axe,
        })
    }
}

pub struct Browser {
    client: Client,
    _server: ArcaServer,
    /// The server's address without a trailing `/`, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    axe: String,
    _profile: tempfile::TempDir,
    _driver: Spawned,
}

impl Browser {
    /// A fresh server and a fresh headless Chromium at 1280×900, or `None` after saying why when
    /// chromedriver, Chromium or axe-core is not installed.
    pub async fn start() -> Option<Browser> {
        let tools = Tools::find()?;
        Some(Browser::launch(tools, ArcaServer::start()).await)
    }

    /// A headless Chromium on `server`, which the caller has started (and filled).
    pub async fn launch(tools: Tools, server: ArcaServer) -> Browser {
        let Tools {
            chromedriver,
            chromium,
            axe,
        } = tools;
        let mut driver = Spawned::spawn(
            Command::new(chromedriver)
                .args(["--port=0", "--log-level=WARNING"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let port = driver_port(&mut driver);
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--no-first-run",
                    "--disable-extensions",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("TLS roots for fantoccini")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("chromedriver starts a Chromium session");
        let browser = Browser {
            client,
            base: server.url.trim_end_matches('/').to_owned(),
            _server: server,
            axe,
            _profile: profile,
            _driver: driver,
        };
        browser.resize(DESKTOP).await;
        browser
    }

    /// Ends the WebDriver session (Chromium quits); dropping without it kills the processes.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens one of Arca's pages; `path` starts with `/`.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("could not open {path}: {e}"));
    }

    /// The path and query of the page shown now, e.g. `/models?q=churn`.
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page's path (without the query) is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        self.wait_until(&format!("the page {path}"), || async {
            let url = self.client.current_url().await.ok()?;
            (url.path() == path).then_some(())
        })
        .await
    }

    /// Waits for an element matching `css`, up to `WAIT`.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_until(&format!("an element {css}"), || async {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// The visible text of the first element matching `css` (waited for).
    pub async fn text_of(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of {css}: {e}"))
    }

    /// The visible text of every element matching `css`, in page order.
    pub async fn texts_of(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            out.push(element.text().await.unwrap());
        }
        out
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("could not click {css}: {e}"));
    }

    /// Clicks a button whose form asks for confirmation (`data-confirm`), accepts the dialog as
    /// a person would, and gives back what the dialog said.
    pub async fn click_and_confirm(&self, css: &str) -> String {
        self.click(css).await;
        let question = self
            .wait_until(&format!("the confirmation of {css}"), || async {
                self.client.get_alert_text().await.ok()
            })
            .await;
        self.client
            .accept_alert()
            .await
            .unwrap_or_else(|e| panic!("could not accept the confirmation of {css}: {e}"));
        question
    }

    /// Chooses the option with `value` in a `<select>`, as a person picks it (change events fire).
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("could not choose {value} in {css}: {e}"));
    }

    /// Replaces the text of an input or textarea, as a person types it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("could not type into {css}: {e}"));
    }

    /// Chooses files (or, for a `webkitdirectory` input, one folder) in a file input.
    pub async fn choose_files(&self, css: &str, paths: &[&Path]) {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.find(css)
            .await
            .send_keys(&list.join("\n"))
            .await
            .unwrap_or_else(|e| panic!("could not choose {list:?} in {css}: {e}"));
    }

    /// Runs `script` in the page (as a function body: `return` gives the result).
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Whether an element matching `css` is shown (present and not hidden).
    pub async fn is_shown(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Polls `check` until it gives a value; past `WAIT` the test fails with what the page shows.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                let shown = self.location().await;
                let body = self.client.find(Locator::Css("body")).await.ok();
                let text = match body {
                    Some(b) => b.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                self.screenshot(&format!("timeout-{}", slug(what))).await;
                panic!("waited {WAIT:?} for {what}; the browser shows {shown}:\n{text}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sets the viewport to `(width, height)` CSS pixels.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }

    /// Saves a PNG of the viewport as `target/browser-screenshots/<name>.png` (for a failing
    /// walk) and returns where.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = workspace_root().join("target/browser-screenshots");
        self.screenshot_into(&dir, name).await
    }

    pub async fn screenshot_into(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Runs axe-core on the page shown and fails on any serious or critical violation, naming
    /// each rule and the elements that break it.
    pub async fn axe_check(&self, label: &str) {
        let serious = self.axe_violations(label).await;
        if !serious.is_empty() {
            self.screenshot(&format!("axe-{}", slug(label))).await;
        }
        assert!(
            serious.is_empty(),
            "axe-core found serious or critical violations on {label} ({}):\n{}",
            self.location().await,
            serious.join("\n")
        );
    }

    /// axe-core's serious and critical violations on the page shown, as `rule (impact): help at
    /// [targets]`. axe is injected through WebDriver's execute script, which the page's
    /// Content-Security-Policy (no inline script) does not govern.
    pub async fn axe_violations(&self, label: &str) -> Vec<String> {
        let loaded = self
            .script(
                &format!(
                    "{}\nreturn typeof axe === 'object' && typeof axe.run === 'function';",
                    self.axe
                ),
                vec![],
            )
            .await;
        assert_eq!(loaded, json!(true), "axe-core did not load on {label}");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then((r) => done({ violations: r.violations.map((v) => ({
                        id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.map((n) => n.target.join(' ')) })) }))
                    .catch((e) => done({ error: String(e) }));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe.run failed on {label}: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe.run failed on {label}: {error}");
        }
        result["violations"]
            .as_array()
            .expect("axe's violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    v["targets"]
                )
            })
            .collect()
    }
}

/// Reads chromedriver's "started successfully on port N" line.
fn driver_port(driver: &mut Spawned) -> u16 {
    let stdout = driver.take_stdout().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("chromedriver exited before it listened")
            .expect("chromedriver's output");
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest
                .trim_end_matches('.')
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("a port in {line:?}"));
        }
    };
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    port
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
