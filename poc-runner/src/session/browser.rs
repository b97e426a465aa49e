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

    fn goto(&self, tab: &Tab, path: &str) -> Result<(), SessionError> {
        let url = format!("{}{path}", self.portal);
        tab.navigate_to(&url)
            .and_then(|t| t.wait_until_navigated())
            .map(|_| ())
            .map_err(|e| self.browser_error(path, e))
    }

    /// Fills the fields of `form` (`name` → text, as typed: an `input` event each) and submits
    /// it as its button does (`requestSubmit`: the form's own validation and hidden fields,
    /// its CSRF token among them), then waits for the page the portal answers. One DevTools
    /// call for the whole form: each call costs about 0.1 s in the DevTools client, so typing
    /// key by key would make a login take seconds. `false` when the page has no such form.
    fn submit(&self, tab: &Tab, form: &str, fields: &[(&str, &str)]) -> Result<bool, SessionError> {
        let js_str = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let mut js = format!(
            "(() => {{ const f = document.querySelector({}); if (!f) return false;",
            js_str(form)
        );
        for (name, text) in fields {
            js.push_str(&format!(
                " {{ const e = f.querySelector({}); e.focus(); e.value = {}; e.dispatchEvent(new Event('input', {{bubbles: true}})); }}",
                js_str(&format!("[name={name}]")),
                js_str(text)
            ));
        }
        js.push_str(" window.__pocOldDocument = 1; f.requestSubmit(); return true; })()");
        if self.eval(tab, &js)?.as_bool() != Some(true) {
            return Ok(false);
        }
        self.wait_for_new_document(tab)?;
        Ok(true)
    }

    /// Waits until the document marked by [`Driver::submit`] is replaced and loaded (a form
    /// posted to its own page keeps the URL).
    fn wait_for_new_document(&self, tab: &Tab) -> Result<(), SessionError> {
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

    /// What the page shows: whether it has `selector`, its text as displayed, and the outcome
    /// code of a search result.
    fn page(
        &self,
        tab: &Tab,
        selector: &str,
    ) -> Result<(bool, String, Option<String>), SessionError> {
        let js = format!(
            "JSON.stringify({{ has: document.querySelector({}) !== null, text: document.body ? document.body.innerText : '', outcome: (document.querySelector('#hasil') || {{dataset: {{}}}}).dataset.outcome || null }})",
            serde_json::Value::String(selector.into())
        );
        let v: serde_json::Value = self
            .eval(tab, &js)?
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Ok((
            v["has"].as_bool() == Some(true),
            v["text"].as_str().unwrap_or_default().to_string(),
            v["outcome"].as_str().map(str::to_string),
        ))
    }

    /// `person` logs in with `username` through the login form.
    pub(crate) fn login(
        &mut self,
        person: &str,
        username: &str,
        password: &str,
    ) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        // Already logged in, the portal answers the login page with the search page.
        self.goto(&tab, dukcapil_mock_api::PORTAL_LOGIN)?;
        self.submit(
            &tab,
            "form#masuk",
            &[
                ("institution", &self.customer_id),
                ("username", username),
                ("password", password),
            ],
        )?;
        let (ok, text, _) = self.page(&tab, "form#cari")?;
        Ok(PortalAnswer {
            ok,
            text,
            outcome: None,
        })
    }

    /// `person` searches `nik` and reads the result.
    pub(crate) fn search(&mut self, person: &str, nik: &str) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        if !self.submit(&tab, "form#cari", &[("nik", nik)])? {
            // Not on the search page: open it (without a session the portal shows its login).
            self.goto(&tab, dukcapil_mock_api::PORTAL_SEARCH)?;
            if !self.submit(&tab, "form#cari", &[("nik", nik)])? {
                let (_, text, _) = self.page(&tab, "form#cari")?;
                return Ok(PortalAnswer {
                    ok: false,
                    text,
                    outcome: None,
                });
            }
        }
        let (_, text, outcome) = self.page(&tab, "#hasil")?;
        Ok(PortalAnswer {
            ok: outcome.is_some(),
            text,
            outcome,
        })
    }

    /// `person` logs out (the Keluar button's form), if logged in.
    pub(crate) fn logout(&mut self, person: &str) -> Result<PortalAnswer, SessionError> {
        let tab = self.tab(person)?;
        let ok = self.submit(&tab, "form.keluar", &[])?;
        let (_, text, _) = self.page(&tab, "form#masuk")?;
        Ok(PortalAnswer {
            ok,
            text,
            outcome: None,
        })
    }
}
