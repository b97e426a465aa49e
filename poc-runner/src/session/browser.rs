//! The browser driver: headless Chromium (Debian's `chromium`, the one the tests use) at the
//! mock's Web Portal, playing an operator script as people do. Every person has a browser
//! context of their own (own cookies: one browser each); logins go through the portal's real
//! form (its CSRF tokens are the page's business), searches through its search form, and what
//! the page shows is read back as the person saw it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use headless_chrome::browser::tab::Tab;
use headless_chrome::{Browser, LaunchOptions};

use super::SessionError;
use crate::target::BrowserDriver;

/// Flags of the session's browser: headless, no sandbox (CI runs as root), nothing that reaches
/// the network on its own.
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// What the portal showed after a step.
#[derive(Debug, Clone, Default)]
pub(crate) struct PortalAnswer {
    /// Login: the search page came; search: a result or confirmation came; logout: done.
    pub ok: bool,
    /// The page's text as displayed (`innerText`).
    pub text: String,
    /// The outcome code the result carries (`#hasil[data-outcome]`), for searches.
    pub outcome: Option<String>,
}

pub(crate) struct Driver {
    browser: Browser,
    /// Each person's tab, in a browser context of its own.
    tabs: BTreeMap<String, Arc<Tab>>,
    /// The portal's base URL (the mock's unless the target names another).
    pub(crate) portal: String,
    customer_id: String,
    timeout: Duration,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("browser::Driver")
            .field("portal", &self.portal)
            .field("people", &self.tabs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The Chromium binary: the target's, else `POC_BROWSER`, else one on `PATH`.
fn chromium(spec: &BrowserDriver) -> Result<PathBuf, SessionError> {
    if let Some(p) = &spec.chromium {
        return Ok(p.clone());
    }
    let env = std::env::var("POC_BROWSER").unwrap_or_default();
    let env = env.trim();
    if !env.is_empty() && !env.eq_ignore_ascii_case("skip") {
        return Ok(PathBuf::from(env));
    }
    find_on_path(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ])
    .ok_or_else(|| {
        SessionError::Start(
            "the browser driver needs headless Chromium: `apt-get install chromium` (Debian), or set POC_BROWSER or driver.browser.chromium to the binary".into(),
        )
    })
}

impl Driver {
    /// Starts Chromium; the portal is at `portal` (`/portal/masuk` below it).
    pub(crate) fn new(
        spec: &BrowserDriver,
        portal: &str,
        customer_id: &str,
    ) -> Result<Driver, SessionError> {
        let path = chromium(spec)?;
        let profile = tempfile::Builder::new()
            .prefix("poc-browser-")
            .tempdir()
            .map_err(|e| SessionError::Start(format!("cannot create a browser profile: {e}")))?;
        let args: Vec<&OsStr> = FLAGS.iter().map(OsStr::new).collect();
        let options = LaunchOptions::default_builder()
            .path(Some(path.clone()))
            .user_data_dir(Some(profile.path().to_path_buf()))
            .disable_default_args(true)
            .args(args)
            .sandbox(false)
            .headless(true)
            .idle_browser_timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| SessionError::Start(format!("browser options: {e}")))?;
        let browser = Browser::new(options).map_err(|e| {
            SessionError::Start(format!("cannot start {} headless: {e:#}", path.display()))
        })?;
        Ok(Driver {
            browser,
            tabs: BTreeMap::new(),
            portal: spec
                .portal_url
                .clone()
                .unwrap_or_else(|| portal.to_string())
                .trim_end_matches('/')
                .to_string(),
            customer_id: customer_id.to_string(),
            timeout: Duration::from_millis(spec.timeout_ms),
            _profile: profile,
        })
    }

    fn browser_error(&self, what: &str, e: impl std::fmt::Display) -> SessionError {
        SessionError::Unreachable(format!("the portal at {} ({what}): {e:#}", self.portal))
    }

    /// The person's tab, opened in a browser context of its own the first time.
    fn tab(&mut self, person: &str) -> Result<Arc<Tab>, SessionError> {
        if let Some(t) = self.tabs.get(person) {
            return Ok(t.clone());
        }
        let tab = self
            .browser
            .new_context()
            .and_then(|c| c.new_tab())
            .map_err(|e| SessionError::Start(format!("a browser for {person}: {e:#}")))?;
        tab.set_default_timeout(self.timeout);
        self.tabs.insert(person.to_string(), tab.clone());
        Ok(tab)
    }

    fn eval(&self, tab: &Tab, expr: &str) -> Result<serde_json::Value, SessionError> {
        tab.evaluate(expr, false)
            .map(|o| o.value.unwrap_or(serde_json::Value::Null))
            .map_err(|e| self.browser_error(expr, e))
    }

    /// Runs `action` and waits for the next document to load (a form posted to its own page
    /// keeps the URL, so the old document is marked).
    fn navigate(
        &self,
        tab: &Tab,
        action: impl FnOnce(&Tab) -> Result<(), SessionError>,
    ) -> Result<(), SessionError> {
        self.eval(tab, "(window.__pocOldDocument = 1)")?;
        action(tab)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let loaded = tab
                .evaluate(
                    "window.__pocOldDocument === undefined && document.readyState === 'complete'",
                    false,
                )
                .ok()
                .and_then(|o| o.value)
                .and_then(|v| v.as_bool());
            if loaded == Some(true) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.browser_error(
                    "no new page",
                    format!("nothing loaded within {} ms", self.timeout.as_millis()),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn goto(&self, tab: &Tab, path: &str) -> Result<(), SessionError> {
        let url = format!("{}{path}", self.portal);
        tab.navigate_to(&url)
            .and_then(|t| t.wait_until_navigated())
            .map(|_| ())
            .map_err(|e| self.browser_error(path, e))
    }

    fn has(&self, tab: &Tab, selector: &str) -> Result<bool, SessionError> {
        let js = format!(
            "document.querySelector({}) !== null",
            serde_json::Value::String(selector.into())
        );
        Ok(self.eval(tab, &js)?.as_bool() == Some(true))
    }

    /// Clicks into `selector`, empties it and types `text`, as a person does.
    fn type_into(&self, tab: &Tab, selector: &str, text: &str) -> Result<(), SessionError> {
        let js = format!(
            "(document.querySelector({}).value = '', 1)",
            serde_json::Value::String(selector.into())
        );
        self.eval(tab, &js)?;
        tab.find_element(selector)
            .and_then(|e| e.click().map(|_| ()))
            .and_then(|_| tab.type_str(text).map(|_| ()))
            .map_err(|e| self.browser_error(selector, e))
    }

    fn click(&self, tab: &Tab, selector: &str) -> Result<(), SessionError> {
        tab.find_element(selector)
            .and_then(|e| e.click().map(|_| ()))
            .map_err(|e| self.browser_error(selector, e))
    }

    fn shown(&self, tab: &Tab) -> Result<String, SessionError> {
        Ok(self
            .eval(tab, "document.body ? document.body.innerText : ''")?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// `person` logs in with `username` through the login form.
    pub(crate) fn login(
        &mut self,
        person: &str,
        username: &str,
        password: &str,
    ) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        self.goto(&tab, dukcapil_mock_api::PORTAL_LOGIN)?;
        if !self.has(&tab, "form#cari")? {
            self.type_into(&tab, "input[name=institution]", &self.customer_id)?;
            self.type_into(&tab, "input[name=username]", username)?;
            self.type_into(&tab, "input[name=password]", password)?;
            self.navigate(&tab, |t| self.click(t, "form#masuk button[type=submit]"))?;
        }
        Ok(PortalAnswer {
            ok: self.has(&tab, "form#cari")?,
            text: self.shown(&tab)?,
            outcome: None,
        })
    }

    /// `person` searches `nik` and reads the result.
    pub(crate) fn search(&mut self, person: &str, nik: &str) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        if !self.has(&tab, "form#cari")? {
            self.goto(&tab, dukcapil_mock_api::PORTAL_SEARCH)?;
        }
        if !self.has(&tab, "form#cari")? {
            // Not logged in: the portal shows its login form.
            return Ok(PortalAnswer {
                ok: false,
                text: self.shown(&tab)?,
                outcome: None,
            });
        }
        self.type_into(&tab, "input[name=nik]", nik)?;
        self.navigate(&tab, |t| self.click(t, "form#cari button[type=submit]"))?;
        let outcome = self
            .eval(
                &tab,
                "(document.querySelector('#hasil') || {dataset: {}}).dataset.outcome || null",
            )?
            .as_str()
            .map(str::to_string);
        Ok(PortalAnswer {
            ok: outcome.is_some(),
            text: self.shown(&tab)?,
            outcome,
        })
    }

    /// `person` logs out (the Keluar button), if logged in.
    pub(crate) fn logout(&mut self, person: &str) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        let ok = self.has(&tab, "#keluar")?;
        if ok {
            self.navigate(&tab, |t| self.click(t, "#keluar"))?;
        }
        Ok(PortalAnswer {
            ok,
            text: self.shown(&tab)?,
            outcome: None,
        })
    }
}
