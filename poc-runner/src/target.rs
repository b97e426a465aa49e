//! The target file: the application under test, its operators, how to drive it (HTTP templates
//! or manual instructions) and where it keeps data. Validated completely before a session runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::file_error::{FileError, FileErrors, Source};
use crate::storage::StorageLocation;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub name: String,
    pub version: String,
    pub build: String,
    /// An agreement profile id (`rsud-karanganyar`, ...).
    pub agreement: Spanned<String>,
    pub mock_credentials: MockCredentials,
    pub operators: Vec<Operator>,
    pub driver: Driver,
    #[serde(default)]
    pub storage: Vec<StorageLocation>,
    /// How the runner starts the application itself (optional; otherwise it must be running).
    #[serde(default)]
    pub app: Option<AppCommand>,
    /// The operator script the pack's `play_script` steps play (Web Portal agencies), relative
    /// to the target file; overrides the pack's (see [`crate::portal_script`]).
    #[serde(default)]
    pub operator_script: Option<PathBuf>,
    /// The application's own time-out for one gateway call, in ms, when it has one: the
    /// timeout fault then delays a call just past it, so the application's time-out is what
    /// the test sees. Without it the delay is half the driver's time-out (2 to 8 s), which an
    /// application with a longer time-out sits through (reported as not exercised).
    #[serde(default)]
    pub gateway_timeout_ms: Option<u64>,
}

/// `[app]`: a command the runner starts before the session and stops after it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppCommand {
    /// Program and arguments, each a tera template like `env`'s values (`mock_url`,
    /// `target_dir`). A bare program name is looked for next to `poc-runner` first, then on
    /// `PATH`. It runs in the target file's folder.
    pub command: Vec<String>,
    /// Environment for the command; values are tera templates with `mock_url` and
    /// `target_dir` (the target file's folder).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A line the application prints on stdout once it listens, e.g. `listening on `; the rest
    /// of that line (a URL) replaces `driver.http.base_url`. Without it the runner polls
    /// `base_url` until it answers.
    #[serde(default)]
    pub ready_prefix: Option<String>,
    /// Without a ready line: a URL (tera template) polled until it answers below HTTP 500,
    /// e.g. a health page; else `driver.http.base_url` is polled.
    #[serde(default)]
    pub ready_url: Option<String>,
    /// How long the application may take to be ready, in ms.
    #[serde(default = "default_startup_ms")]
    pub startup_timeout_ms: u64,
}

fn default_startup_ms() -> u64 {
    30_000
}

/// The gateway credentials the application is configured with (pointing at the mock).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MockCredentials {
    pub user_id: String,
    pub password: String,
    pub ip_user: String,
    #[serde(default)]
    pub balikan_token: Option<String>,
}

/// An operator account of the application.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub username: Spanned<String>,
    pub password: String,
    /// The value this operator's lookups must carry in `User_ID`; defaults to the username.
    #[serde(default)]
    pub user_id: Option<String>,
}

impl Operator {
    pub fn expected_user_id(&self) -> &str {
        self.user_id.as_deref().unwrap_or(self.username.get_ref())
    }
}

/// How the application is driven.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Driver {
    /// Scripted HTTP requests.
    Http(Box<HttpDriver>),
    /// An engineer at the application's screen, prompted by the runner.
    Manual(ManualDriver),
    /// Headless Chromium at the mock's Web Portal, playing the operator script (Web Portal
    /// agencies, whose operators use Dukcapil's portal instead of an application).
    Browser(BrowserDriver),
}

impl Driver {
    /// How long the runner waits for one answer of the application (or, by hand, its screen).
    pub fn timeout_ms(&self) -> u64 {
        match self {
            Driver::Http(h) => h.timeout_ms,
            Driver::Manual(_) => 10_000,
            Driver::Browser(b) => b.timeout_ms,
        }
    }
}

/// `[driver.browser]`: the portal is the mock's (`/portal/masuk` on its address).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserDriver {
    /// The Chromium binary; default: `POC_BROWSER`, else `chromium` (or `chromium-browser`,
    /// `google-chrome`) on `PATH`.
    #[serde(default)]
    pub chromium: Option<PathBuf>,
    /// How long one page may take, in ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The portal's address when it is not the mock's (`https://portal.example/`).
    #[serde(default)]
    pub portal_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDriver {
    pub base_url: Spanned<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    pub login: RequestTemplate,
    pub lookup: RequestTemplate,
    /// How to tell that an answer presents a resident (applications differ).
    pub presents_resident: Recogniser,
    /// Service events that owe data balikan, by name (`register_patient`, `record_death`...).
    #[serde(default)]
    pub events: BTreeMap<String, RequestTemplate>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// An HTTP method of a request template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// One templated request (tera). Variables: `operator.username`, `operator.password`, `nik`,
/// `token` (captured at login), `values.<key>` (service-event values).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// The request's method.
    pub method: Method,
    /// The path (a tera template) below the base URL.
    pub path: Spanned<String>,
    /// Headers (tera templates).
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// A JSON body template.
    #[serde(default)]
    pub json: Option<Spanned<String>>,
    /// A form-encoded body: field → template.
    #[serde(default)]
    pub form: Option<BTreeMap<String, Spanned<String>>>,
    /// What to keep from the answer (login: the session).
    #[serde(default)]
    pub capture: Option<Capture>,
    /// The part of the answer that is the application's output.
    #[serde(default)]
    pub extract: Option<Extract>,
    /// Lookups: where each data element is shown, a JSON pointer or CSS selector in which
    /// `{element}` stands for the element's wire name (`/data/{element}`,
    /// `td[data-element="{element}"]`). Field limits are then judged per element as well: an
    /// element outside the grant with anything at its place is shown, whatever its format.
    #[serde(default)]
    pub elements: Option<Extract>,
}

impl RequestTemplate {
    /// The step values (`{{ values.KEY }}`) the request sends to the application: what the
    /// operator enters at that service event.
    pub fn value_keys(&self) -> std::collections::BTreeSet<String> {
        let mut texts: Vec<&str> = vec![self.path.get_ref().as_str()];
        texts.extend(self.headers.values().map(|v| v.get_ref().as_str()));
        texts.extend(self.json.as_ref().map(|j| j.get_ref().as_str()));
        if let Some(form) = &self.form {
            texts.extend(form.values().map(|v| v.get_ref().as_str()));
        }
        let mut keys = std::collections::BTreeSet::new();
        for text in texts {
            for (at, _) in text.match_indices("values.") {
                let key: String = text[at + "values.".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !key.is_empty() {
                    keys.insert(key);
                }
            }
        }
        keys
    }
}

/// How an operator's session is kept after login.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Capture {
    /// A session cookie by name, sent back on later requests.
    Cookie(String),
    /// A token from the JSON answer, sent back in `header` as `prefix + token`.
    Token {
        /// Where the token is in the login answer (JSON pointer).
        json_pointer: Spanned<String>,
        /// The header that carries it.
        header: String,
        /// Written before the token (`Bearer `).
        #[serde(default)]
        prefix: String,
    },
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Extract {
    JsonPointer(Spanned<String>),
    /// A CSS selector; the text of every match.
    Html(Spanned<String>),
}

/// How the runner tells an answer that presents a resident.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recogniser {
    /// The pointer resolves to a non-null, non-empty value.
    JsonPointer(Spanned<String>),
    /// The selector matches at least one element.
    Html(Spanned<String>),
    /// The answer's text contains this.
    Contains(String),
}

/// Instructions in Bahasa Indonesia for the engineer at the application's screen. The runner
/// shows each instruction, waits for the traffic it should cause at the mock, and records the
/// engineer's answers and evidence notes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManualDriver {
    /// Where the engineer opens the application (shown in the instructions, checked for an
    /// answer before the session starts). Optional: a desktop application has none.
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    /// How long to wait for a lookup to reach the mock before asking the engineer what happened.
    #[serde(default = "default_wait_seconds")]
    pub wait_seconds: u64,
    /// Step kind or event name → instruction (`login`, `lookup`, `register_patient`...): tera
    /// templates with `operator.username`, `operator.password`, `nik`, `values.<key>`, `url`.
    pub instructions: BTreeMap<String, Spanned<String>>,
}

fn default_wait_seconds() -> u64 {
    180
}

/// A validated target: `path` is absolute and storage paths are resolved against its folder.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target file (absolute).
    pub path: PathBuf,
    /// The file as written.
    pub file: TargetFile,
    /// The agreement it names.
    pub agreement: dukcapil_domain::Agreement,
}

impl Target {
    /// Reads a target file, with file, line and problem on error.
    pub fn load(path: &Path) -> Result<Target, FileErrors> {
        let src = Source::read(path)?;
        Target::from_source(&src)
    }

    /// Parses a target file from text already read.
    pub fn from_source(src: &Source) -> Result<Target, FileErrors> {
        let mut file: TargetFile = src.parse()?;
        let mut errors = Vec::new();
        let agreements = dukcapil_domain::Agreement::embedded();
        let agreement = agreements
            .iter()
            .find(|a| a.id == *file.agreement.get_ref())
            .cloned();
        if agreement.is_none() {
            let ids: Vec<_> = agreements.iter().map(|a| a.id.as_str()).collect();
            errors.push(src.error_at(
                file.agreement.span(),
                "agreement",
                format!(
                    "expected one of {}, found unknown agreement `{}`{}",
                    ids.join(", "),
                    file.agreement.get_ref(),
                    crate::file_error::did_you_mean(file.agreement.get_ref(), ids.iter().copied())
                        .map(|m| format!("; did you mean `{m}`?"))
                        .unwrap_or_default()
                ),
            ));
        }
        if file.operators.len() < 2 {
            errors.push(src.error(
                Some("operators"),
                "expected at least two [[operators]] (User_ID must differ between operators)",
            ));
        }
        let mut names = BTreeSet::new();
        for o in &file.operators {
            if o.username.get_ref().trim().is_empty() {
                errors.push(src.error_at(
                    o.username.span(),
                    "operators.username",
                    "expected a non-empty username",
                ));
            } else if !names.insert(o.username.get_ref().clone()) {
                errors.push(src.error_at(
                    o.username.span(),
                    "operators.username",
                    format!("duplicate operator `{}`", o.username.get_ref()),
                ));
            }
        }
        if let Some(app) = &file.app {
            if app.command.first().is_none_or(|c| c.trim().is_empty()) {
                errors.push(src.error(
                    Some("app.command"),
                    "expected a program and its arguments, e.g. [\"rsud-app\", \"--config\", \"rsud-app.toml\"]",
                ));
            }
        }
        match &file.driver {
            Driver::Http(h) => validate_http(src, h, &mut errors),
            Driver::Manual(m) => {
                if !m.instructions.contains_key("lookup") {
                    errors.push(src.error(
                        Some("driver.manual.instructions"),
                        "expected an instruction for `lookup`",
                    ));
                }
                let mut tera = tera::Tera::default();
                for (k, v) in &m.instructions {
                    let key = format!("driver.manual.instructions.{k}");
                    if v.get_ref().trim().is_empty() {
                        errors.push(src.error_at(
                            v.span(),
                            key,
                            "expected a non-empty instruction",
                        ));
                    } else if let Err(e) = tera.add_raw_template(&key, v.get_ref()) {
                        let detail = std::error::Error::source(&e)
                            .map_or_else(|| e.to_string(), |s| s.to_string());
                        errors.push(src.error_at(
                            v.span(),
                            key,
                            format!("expected a valid tera template: {}", detail.trim()),
                        ));
                    }
                }
                if let Some(url) = &m.url {
                    let u = url.get_ref();
                    if !(u.starts_with("http://") || u.starts_with("https://"))
                        || u.len() <= "https://".len()
                    {
                        errors.push(src.error_at(
                            url.span(),
                            "driver.manual.url",
                            format!("expected an http:// or https:// URL, found `{u}`"),
                        ));
                    }
                }
                if m.wait_seconds == 0 {
                    errors.push(src.error(
                        Some("driver.manual.wait_seconds"),
                        "expected a wait above 0 seconds",
                    ));
                }
            }
            Driver::Browser(b) => {
                if b.timeout_ms == 0 {
                    errors.push(src.error(
                        Some("driver.browser.timeout_ms"),
                        "expected a timeout above 0 ms",
                    ));
                }
                if let Some(u) = &b.portal_url {
                    if !(u.starts_with("http://") || u.starts_with("https://")) {
                        errors.push(src.error(
                            Some("driver.browser.portal_url"),
                            format!("expected an http:// or https:// URL, found `{u}`"),
                        ));
                    }
                }
            }
        }
        if let Some(t) = file.gateway_timeout_ms {
            let driver = file.driver.timeout_ms();
            if t == 0 || t >= driver {
                errors.push(src.error(
                    Some("gateway_timeout_ms"),
                    format!(
                        "expected a time-out above 0 and below the driver's {driver} ms (the runner \
                         waits that long for the application, which must give up on the gateway first)"
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(FileErrors(errors));
        }
        // Every path of a target resolves against the file's own folder, made absolute: the
        // application runs with that folder as its cwd, so a relative `{{ target_dir }}` would be
        // doubled there (`tgt/tgt/app.sqlite`) and a retention scan would look in the wrong place.
        let path = std::path::absolute(&src.path).unwrap_or_else(|_| src.path.clone());
        let base = path.parent().unwrap_or(Path::new("/"));
        for loc in &mut file.storage {
            let (StorageLocation::File(p)
            | StorageLocation::Folder(p)
            | StorageLocation::Log(p)
            | StorageLocation::Sqlite(p)) = loc;
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(Target {
            path,
            file,
            agreement: agreement.expect("checked above"),
        })
    }

    /// Every secret the target file holds (searched for by secret hygiene, kept out of results).
    pub fn institutional_password(&self) -> &str {
        &self.file.mock_credentials.password
    }
}

fn validate_http(src: &Source, h: &HttpDriver, errors: &mut Vec<FileError>) {
    let url = h.base_url.get_ref();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        errors.push(src.error_at(
            h.base_url.span(),
            "driver.http.base_url",
            format!("expected an http:// or https:// URL, found `{url}`"),
        ));
    }
    if h.timeout_ms == 0 {
        errors.push(src.error(
            Some("driver.http.timeout_ms"),
            "expected a timeout above 0 ms",
        ));
    }
    let mut tera = tera::Tera::default();
    validate_request(src, &mut tera, "driver.http.login", &h.login, errors);
    validate_request(src, &mut tera, "driver.http.lookup", &h.lookup, errors);
    for (name, r) in &h.events {
        validate_request(
            src,
            &mut tera,
            &format!("driver.http.events.{name}"),
            r,
            errors,
        );
    }
    match &h.presents_resident {
        Recogniser::JsonPointer(p) => {
            validate_pointer(src, "driver.http.presents_resident.json_pointer", p, errors)
        }
        Recogniser::Html(s) => {
            validate_selector(src, "driver.http.presents_resident.html", s, errors)
        }
        Recogniser::Contains(s) if s.is_empty() => errors.push(src.error(
            Some("driver.http.presents_resident.contains"),
            "expected a non-empty text",
        )),
        Recogniser::Contains(_) => {}
    }
    if h.login.capture.is_none() {
        errors.push(src.error(Some("driver.http.login.capture"), "expected how to capture the session: { cookie = \"NAME\" } or { token = { json_pointer = \"/token\", header = \"Authorization\", prefix = \"Bearer \" } }"));
    }
}

fn validate_request(
    src: &Source,
    tera: &mut tera::Tera,
    key: &str,
    r: &RequestTemplate,
    errors: &mut Vec<FileError>,
) {
    let mut template = |k: String, t: &Spanned<String>, errors: &mut Vec<FileError>| {
        if let Err(e) = tera.add_raw_template(&k, t.get_ref()) {
            // tera's own message names the position inside the template.
            let detail =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            errors.push(src.error_at(
                t.span(),
                k,
                format!("expected a valid tera template: {}", detail.trim()),
            ));
        }
    };
    if !r.path.get_ref().starts_with('/') {
        errors.push(src.error_at(
            r.path.span(),
            format!("{key}.path"),
            format!(
                "expected a path starting with `/`, found `{}`",
                r.path.get_ref()
            ),
        ));
    }
    template(format!("{key}.path"), &r.path, errors);
    for (h, v) in &r.headers {
        template(format!("{key}.headers.{h}"), v, errors);
    }
    if let Some(j) = &r.json {
        template(format!("{key}.json"), j, errors);
    }
    if let Some(f) = &r.form {
        for (k, v) in f {
            template(format!("{key}.form.{k}"), v, errors);
        }
    }
    if r.json.is_some() && r.form.is_some() {
        errors.push(src.error(
            Some(key),
            "expected either `json` or `form` as the body, not both",
        ));
    }
    if let Some(Capture::Token { json_pointer, .. }) = &r.capture {
        validate_pointer(
            src,
            &format!("{key}.capture.token.json_pointer"),
            json_pointer,
            errors,
        );
    }
    match &r.extract {
        Some(Extract::JsonPointer(p)) => {
            validate_pointer(src, &format!("{key}.extract.json_pointer"), p, errors)
        }
        Some(Extract::Html(s)) => validate_selector(src, &format!("{key}.extract.html"), s, errors),
        None => {}
    }
    let with =
        |t: &Spanned<String>| Spanned::new(t.span(), t.get_ref().replace("{element}", "NIK"));
    match &r.elements {
        Some(Extract::JsonPointer(p)) => validate_pointer(
            src,
            &format!("{key}.elements.json_pointer"),
            &with(p),
            errors,
        ),
        Some(Extract::Html(s)) => {
            validate_selector(src, &format!("{key}.elements.html"), &with(s), errors)
        }
        None => {}
    }
    if let Some(Extract::JsonPointer(t) | Extract::Html(t)) = &r.elements {
        if !t.get_ref().contains("{element}") {
            errors.push(src.error_at(
                t.span(),
                format!("{key}.elements"),
                "expected `{element}` where the element's wire name goes".to_string(),
            ));
        }
    }
}

fn validate_pointer(src: &Source, key: &str, p: &Spanned<String>, errors: &mut Vec<FileError>) {
    let v = p.get_ref();
    if !v.is_empty() && !v.starts_with('/') {
        errors.push(src.error_at(
            p.span(),
            key,
            format!("expected a JSON pointer (RFC 6901) such as `/data/nik`, found `{v}`"),
        ));
    }
}

fn validate_selector(src: &Source, key: &str, s: &Spanned<String>, errors: &mut Vec<FileError>) {
    if let Err(e) = scraper::Selector::parse(s.get_ref()) {
        errors.push(src.error_at(s.span(), key, format!("expected a CSS selector: {e:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../scenarios/targets/example.toml");

    #[test]
    fn request_templates_name_the_values_they_send() {
        let t =
            Target::from_source(&Source::new("scenarios/targets/example.toml", EXAMPLE)).unwrap();
        let Driver::Http(h) = &t.file.driver else {
            panic!("http driver")
        };
        let keys: Vec<String> = h.events["register_patient"]
            .value_keys()
            .into_iter()
            .collect();
        assert_eq!(keys, ["GOL_DARAH", "NO_RM"]);
        assert!(h.lookup.value_keys().is_empty());
    }

    #[test]
    fn shipped_example_is_valid() {
        let t =
            Target::from_source(&Source::new("scenarios/targets/example.toml", EXAMPLE)).unwrap();
        assert_eq!(t.agreement.id, "rsud-karanganyar");
        assert_eq!(t.file.operators.len(), 2);
        assert!(matches!(t.file.driver, Driver::Http(_)));
        assert!(t
            .file
            .storage
            .iter()
            .any(|s| matches!(s, StorageLocation::Sqlite(p)
                if p.is_absolute() && p.ends_with("scenarios/targets/simrs-data/simrs.db"))));
        assert!(t.path.is_absolute(), "{}", t.path.display());
    }

    fn err(from: &str, to: &str) -> String {
        assert!(EXAMPLE.contains(from), "{from}");
        Target::from_source(&Source::new("t.toml", EXAMPLE.replacen(from, to, 1)))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn mistakes_are_positioned_with_key_and_expectation() {
        let e = err(
            "agreement = \"rsud-karanganyar\"",
            "agreement = \"rsud-solo\"",
        );
        assert!(
            e.starts_with("t.toml:") && e.contains("key `agreement`: expected one of"),
            "{e}"
        );
        let e = err("timeout_ms = 10000", "timeout_ms = \"ten\"");
        assert!(e.contains("key `driver.http.timeout_ms`"), "{e}");
        // The application must give up on the gateway before the runner gives up on it.
        let e = err("gateway_timeout_ms = 5000", "gateway_timeout_ms = 10000");
        assert!(
            e.contains("key `gateway_timeout_ms`: expected a time-out above 0 and below the driver's 10000 ms"),
            "{e}"
        );
        let e = err("html = \"table#hasil td\"", "html = \"table##\"");
        assert!(
            e.contains("driver.http.lookup.extract.html`: expected a CSS selector"),
            "{e}"
        );
        let e = err("{{ nik }}", "{{ nik ");
        assert!(
            e.contains("driver.http.lookup.json`: expected a valid tera template"),
            "{e}"
        );
        let e = err("method = \"POST\"", "method = \"FETCH\"");
        assert!(e.contains("unknown variant `FETCH`"), "{e}");
        let e = err("[[storage]]\nsqlite", "[[storage]]\nmongodb");
        assert!(e.contains("unknown variant `mongodb`"), "{e}");
    }
}
