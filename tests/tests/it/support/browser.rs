//! Headless Chromium for the browser tests: Debian's `chromium`, driven over the DevTools
//! protocol by `headless_chrome`, with a fresh profile and no network. One browser per test;
//! each page records the requests it made and its console errors.
//!
//! `POC_BROWSER` chooses the browser: unset → `chromium` (or `chromium-browser`,
//! `google-chrome`) on `PATH`; a path → that binary; `skip` → the browser tests print a loud
//! skip line and pass. Without a browser they fail and say how to install one.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headless_chrome::browser::tab::Tab;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Network, Page as Cdp, Runtime};
use headless_chrome::types::PrintToPdfOptions;
use headless_chrome::{Browser, LaunchOptions};
use serde::de::DeserializeOwned;
use serde_json::json;

/// What to do when no browser is found; printed by the failing test.
pub(crate) const INSTALL_HINT: &str = "headless Chromium is needed for the browser tests: \
     `apt-get install chromium chromium-driver` (Debian; `bash .ci/run` does it), \
     or set POC_BROWSER=/path/to/chrome; POC_BROWSER=skip skips these tests";

/// The flags every test browser runs with: headless, no sandbox (CI runs as root), no GPU, and
/// nothing that would reach the network on its own (QUIC, component updates, sync, ...).
const FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
];

/// A4 in CSS pixels (96 px per inch): 210 mm x 297 mm.
pub(crate) const A4_PX: (u32, u32) = (794, 1123);
/// A4 in inches, as `Page.printToPDF` takes paper sizes.
pub(crate) const A4_IN: (f64, f64) = (210.0 / 25.4, 297.0 / 25.4);
/// US Letter in inches, Chromium's default paper.
pub(crate) const LETTER_IN: (f64, f64) = (8.5, 11.0);

/// A running headless Chromium with one tab that records, for the page it shows, every request
/// and every console error; killed (and its profile removed) on drop.
pub(crate) struct Chromium {
    browser: Browser,
    tab: Arc<Tab>,
    /// URLs of every request the current page made (the document itself included).
    requests: Arc<Mutex<Vec<String>>>,
    /// Console errors, uncaught exceptions and browser log errors of the current page.
    errors: Arc<Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("pid", &self.browser.get_process_id())
            .finish()
    }
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Starts the browser for `test`, or `None` when `POC_BROWSER=skip` (after a loud line on
/// stderr, which the test harness does not capture). Panics with [`INSTALL_HINT`] when no
/// browser is installed.
pub(crate) fn chromium(test: &str) -> Option<Chromium> {
    let choice = std::env::var("POC_BROWSER").unwrap_or_default();
    if choice.trim().eq_ignore_ascii_case("skip") {
        // Written to the real stderr (not the captured test output) so that it is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!! SKIPPED browser test `{test}`: POC_BROWSER=skip. The result letter was \
             NOT checked in a browser. !!!!!!!!\n"
        );
        return None;
    }
    let path = if choice.trim().is_empty() {
        find_on_path(&[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ])
        .unwrap_or_else(|| panic!("{test}: no browser on PATH. {INSTALL_HINT}"))
    } else {
        let p = PathBuf::from(choice.trim());
        assert!(
            p.is_file(),
            "{test}: POC_BROWSER={} is not a file. {INSTALL_HINT}",
            p.display()
        );
        p
    };
    let profile = tempfile::tempdir().expect("browser profile dir");
    let args: Vec<&OsStr> = FLAGS.iter().map(OsStr::new).collect();
    let options = LaunchOptions::default_builder()
        .path(Some(path.clone()))
        .user_data_dir(Some(profile.path().to_path_buf()))
        // Our flags, exactly: the crate's defaults include ones we do not want to rely on.
        .disable_default_args(true)
        .args(args)
        .sandbox(false)
        .headless(true)
        .window_size(Some(A4_PX))
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .expect("launch options");
    let browser = Browser::new(options).unwrap_or_else(|e| {
        panic!(
            "{test}: cannot start {} headless: {e:#}. {INSTALL_HINT}",
            path.display()
        )
    });
    // One tab for every page: a new tab costs about a second on a loaded machine.
    let tab = browser.new_tab().expect("new tab");
    let (requests, errors) = record(&tab);
    Some(Chromium {
        browser,
        tab,
        requests,
        errors,
        _profile: profile,
    })
}

/// A DevTools command from its protocol JSON (camelCase keys; absent optional keys are unset).
fn cdp<T: DeserializeOwned>(params: serde_json::Value) -> T {
    serde_json::from_value(params.clone())
        .unwrap_or_else(|e| panic!("DevTools command {params}: {e}"))
}

/// A viewport of `width` x `height` CSS pixels at scale 1, desktop.
fn metrics(width: u32, height: u32) -> Emulation::SetDeviceMetricsOverride {
    cdp(json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }))
}

/// Turns on the DevTools domains and records requests and errors of `tab`.
#[allow(clippy::type_complexity)]
fn record(tab: &Tab) -> (Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<String>>>) {
    tab.set_default_timeout(Duration::from_secs(20));
    tab.call_method(cdp::<Network::Enable>(json!({})))
        .expect("Network.enable");
    tab.enable_runtime().expect("Runtime.enable");
    tab.enable_log().expect("Log.enable");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (req, err) = (requests.clone(), errors.clone());
    tab.add_event_listener(Arc::new(move |event: &Event| match event {
        Event::NetworkRequestWillBeSent(e) => {
            req.lock().unwrap().push(e.params.request.url.clone());
        }
        Event::RuntimeConsoleAPICalled(e) => {
            use Runtime::ConsoleAPICalledEventTypeOption as T;
            if matches!(e.params.Type, T::Error | T::Assert) {
                let args: Vec<String> = e
                    .params
                    .args
                    .iter()
                    .map(|a| {
                        a.value
                            .as_ref()
                            .map(|v| v.to_string())
                            .or_else(|| a.description.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                err.lock()
                    .unwrap()
                    .push(format!("console.error: {}", args.join(" ")));
            }
        }
        Event::RuntimeExceptionThrown(e) => {
            let d = &e.params.exception_details;
            err.lock().unwrap().push(format!(
                "uncaught exception: {} {}",
                d.text,
                d.exception
                    .as_ref()
                    .and_then(|x| x.description.clone())
                    .unwrap_or_default()
            ));
        }
        Event::LogEntryAdded(e) => {
            use headless_chrome::protocol::cdp::Log::LogEntryLevel;
            if matches!(e.params.entry.level, LogEntryLevel::Error) {
                err.lock().unwrap().push(format!(
                    "log error: {} {}",
                    e.params.entry.text,
                    e.params.entry.url.clone().unwrap_or_default()
                ));
            }
        }
        _ => {}
    }))
    .expect("event listener");
    (requests, errors)
}

/// The page the browser shows, with what it did since it was opened.
pub(crate) struct Page<'a> {
    chromium: &'a Chromium,
}

impl std::fmt::Debug for Page<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("url", &self.chromium.tab.get_url())
            .finish()
    }
}

impl Chromium {
    /// Loads `url` in the browser's tab, with screen media and the default viewport, and
    /// returns once the page has loaded (`document.readyState` complete).
    pub(crate) fn open(&self, url: &str) -> Page<'_> {
        let page = Page { chromium: self };
        self.tab
            .call_method(cdp::<Emulation::SetEmulatedMedia>(json!({ "media": "" })))
            .expect("Emulation.setEmulatedMedia");
        self.tab
            .call_method(cdp::<Emulation::ClearDeviceMetricsOverride>(json!(null)))
            .expect("Emulation.clearDeviceMetricsOverride");
        page.navigate(|| {
            self.tab
                .navigate_to(url)
                .unwrap_or_else(|e| panic!("cannot load {url}: {e:#}"));
        });
        page
    }
}

/// `file://` URL of a local file (test temp paths: no characters that need escaping).
pub(crate) fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).expect("canonical path");
    let s = abs.to_str().expect("UTF-8 path");
    assert!(
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)),
        "unexpected characters in {s}"
    );
    format!("file://{s}")
}

impl Page<'_> {
    fn tab(&self) -> &Tab {
        &self.chromium.tab
    }

    /// Evaluates `expr` in the page; `Err` when it throws or the page is between documents.
    fn try_eval<T: DeserializeOwned>(&self, expr: &str) -> Result<T, String> {
        let result = self
            .tab()
            .call_method(cdp::<Runtime::Evaluate>(json!({
                "expression": format!("JSON.stringify(({expr}))"),
                "returnByValue": true,
                "awaitPromise": true,
            })))
            .map_err(|e| format!("{e:#}"))?;
        if let Some(ex) = result.exception_details {
            return Err(format!(
                "{} {:?}",
                ex.text,
                ex.exception.and_then(|e| e.description)
            ));
        }
        let json = result
            .result
            .value
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or("no value")?;
        serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))
    }

    /// Evaluates `expr` in the page and returns its value, JSON-decoded.
    pub(crate) fn eval<T: DeserializeOwned>(&self, expr: &str) -> T {
        self.try_eval(expr)
            .unwrap_or_else(|e| panic!("evaluate {expr}: {e}"))
    }

    /// Runs `action` (a navigation, a click that submits a form, ...) and waits until a new
    /// document has replaced the current one and has loaded. The requests and errors recorded
    /// so far are dropped: they belong to the old document.
    pub(crate) fn navigate(&self, action: impl FnOnce()) {
        // A mark on the old document: gone once the new one is there (the URL may not change,
        // as with a form posted to its own page).
        self.eval::<u8>("(window.__pocOldDocument = 1)");
        self.chromium.requests.lock().unwrap().clear();
        self.chromium.errors.lock().unwrap().clear();
        action();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let loaded = self.try_eval::<bool>(
                "window.__pocOldDocument === undefined && document.readyState === 'complete'",
            );
            if loaded == Ok(true) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no new document loaded within 20 s (at {}): {loaded:?}",
                self.tab().get_url()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Clicks into the field `selector` and types `text`, as an operator does.
    pub(crate) fn type_into(&self, selector: &str, text: &str) {
        self.tab()
            .find_element(selector)
            .and_then(|e| e.click().map(|_| ()))
            .and_then(|_| self.tab().type_str(text).map(|_| ()))
            .unwrap_or_else(|e| panic!("type into {selector}: {e:#}"));
    }

    /// Clicks `selector` (a submit button) and waits for the page it leads to.
    pub(crate) fn click_and_wait(&self, selector: &str) {
        self.navigate(|| {
            self.tab()
                .find_element(selector)
                .and_then(|e| e.click().map(|_| ()))
                .unwrap_or_else(|e| panic!("click {selector}: {e:#}"));
        });
    }

    /// The rendered text of the page (`innerText`: only what is displayed).
    pub(crate) fn text(&self) -> String {
        self.eval("document.body.innerText")
    }

    /// Lays the page out as printed media in a viewport of `width` x `height` CSS pixels.
    pub(crate) fn emulate_print(&self, (width, height): (u32, u32)) {
        self.tab()
            .call_method(cdp::<Emulation::SetEmulatedMedia>(
                json!({ "media": "print" }),
            ))
            .expect("Emulation.setEmulatedMedia");
        self.tab()
            .call_method(metrics(width, height))
            .expect("Emulation.setDeviceMetricsOverride");
    }

    /// A PNG of the whole page as laid out at `width` CSS pixels (the viewport is stretched to
    /// the page's height for the shot; media emulation is kept).
    pub(crate) fn screenshot(&self, width: u32) -> Vec<u8> {
        let height: u32 = self.eval("Math.ceil(document.documentElement.scrollHeight)");
        self.tab()
            .call_method(metrics(width, height))
            .expect("Emulation.setDeviceMetricsOverride");
        self.tab()
            .capture_screenshot(Cdp::CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("Page.captureScreenshot")
    }

    /// Prints to PDF on paper of `paper` inches. `prefer_css_page_size`: the page's own
    /// `@page { size }` wins over `paper`, as in the browser's print dialog.
    pub(crate) fn pdf(&self, paper: (f64, f64), prefer_css_page_size: bool) -> Vec<u8> {
        self.tab()
            .print_to_pdf(Some(PrintToPdfOptions {
                paper_width: Some(paper.0),
                paper_height: Some(paper.1),
                print_background: Some(true),
                display_header_footer: Some(false),
                prefer_css_page_size: Some(prefer_css_page_size),
                ..Default::default()
            }))
            .expect("Page.printToPDF")
    }

    /// Every URL the page requested other than `own` (the page itself).
    pub(crate) fn requests_other_than(&self, own: &str) -> Vec<String> {
        self.chromium
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|u| u.as_str() != own)
            .cloned()
            .collect()
    }

    /// Console errors, uncaught exceptions and error log entries of the page.
    pub(crate) fn errors(&self) -> Vec<String> {
        self.chromium.errors.lock().unwrap().clone()
    }
}

/// Pages of a PDF: `(width, height)` of each page's MediaBox in points, in page order.
pub(crate) fn pdf_page_sizes(pdf: &[u8]) -> Vec<(f64, f64)> {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    doc.get_pages()
        .values()
        .map(|&id| {
            let b = media_box(&doc, id).expect("every page has a MediaBox");
            ((b[2] - b[0]).abs(), (b[3] - b[1]).abs())
        })
        .collect()
}

/// A page's MediaBox, inherited from its `Pages` ancestors when the page has none.
fn media_box(doc: &lopdf::Document, mut id: lopdf::ObjectId) -> Option<[f64; 4]> {
    for _ in 0..32 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(obj) = dict.get(b"MediaBox") {
            let arr = match obj {
                lopdf::Object::Reference(r) => doc.get_object(*r).ok()?.as_array().ok()?,
                o => o.as_array().ok()?,
            };
            let n: Vec<f64> = arr
                .iter()
                .filter_map(|o| o.as_float().ok().map(f64::from))
                .collect();
            return (n.len() == 4).then(|| [n[0], n[1], n[2], n[3]]);
        }
        id = dict.get(b"Parent").ok()?.as_reference().ok()?;
    }
    None
}

/// The text of each PDF page (as far as lopdf can decode it), in page order.
pub(crate) fn pdf_page_texts(pdf: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    doc.get_pages()
        .keys()
        .map(|&n| doc.extract_text(&[n]).unwrap_or_default())
        .collect()
}
