//! The HTTP driver: renders the target file's request templates (tera), sends them, keeps each
//! operator's session (cookie or token) and reads what the application answered.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::target::{Capture, Extract, HttpDriver, Method, Recogniser, RequestTemplate};

pub(crate) use crate::observed::Answer;

#[derive(Debug, Clone)]
enum Auth {
    Cookie(String),
    Header(String, String),
}

#[derive(Debug)]
pub(crate) struct Driver<'a> {
    spec: &'a HttpDriver,
    pub base: String,
    client: reqwest::blocking::Client,
    auth: BTreeMap<String, Auth>,
}

impl<'a> Driver<'a> {
    pub(crate) fn new(spec: &'a HttpDriver, base: &str) -> Result<Driver<'a>, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(spec.timeout_ms))
            // A login answered by a redirect carries the cookie on the redirect itself.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Driver {
            spec,
            base: base.trim_end_matches('/').to_string(),
            client,
            auth: BTreeMap::new(),
        })
    }

    /// Whether anything answers at the base URL (any HTTP status counts).
    pub(crate) fn reachable(&self) -> Result<(), String> {
        self.client
            .get(format!("{}/", self.base))
            .send()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    pub(crate) fn forget_sessions(&mut self) {
        self.auth.clear();
    }

    fn context(
        username: &str,
        password: &str,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> tera::Context {
        let mut ctx = tera::Context::new();
        let mut op = BTreeMap::new();
        op.insert("username", username);
        op.insert("password", password);
        ctx.insert("operator", &op);
        ctx.insert("nik", nik);
        ctx.insert("values", values);
        ctx
    }

    fn send(&self, t: &RequestTemplate, ctx: &tera::Context, who: &str) -> Answer {
        let render = |s: &str| tera::Tera::one_off(s, ctx, false);
        let started = std::time::Instant::now();
        let fail = |e: String| Answer {
            status: None,
            body: String::new(),
            error: Some(e),
            elapsed_ms: started.elapsed().as_millis() as u64,
            set_cookies: Vec::new(),
        };
        let path = match render(t.path.get_ref()) {
            Ok(p) => p,
            Err(e) => return fail(format!("template: {e}")),
        };
        let method = match t.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in &t.headers {
            match render(v.get_ref()) {
                Ok(v) => req = req.header(k.as_str(), v),
                Err(e) => return fail(format!("template: {e}")),
            }
        }
        match self.auth.get(who) {
            Some(Auth::Cookie(c)) => req = req.header("Cookie", c.as_str()),
            Some(Auth::Header(h, v)) => req = req.header(h.as_str(), v.as_str()),
            None => {}
        }
        if let Some(j) = &t.json {
            match render(j.get_ref()) {
                Ok(body) => req = req.header("Content-Type", "application/json").body(body),
                Err(e) => return fail(format!("template: {e}")),
            }
        } else if let Some(form) = &t.form {
            let mut fields = Vec::new();
            for (k, v) in form {
                match render(v.get_ref()) {
                    Ok(v) => fields.push((k.clone(), v)),
                    Err(e) => return fail(format!("template: {e}")),
                }
            }
            let body = fields
                .iter()
                .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        match req.send() {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let cookies: Vec<String> = resp
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect();
                let body = resp.text();
                Answer {
                    status: Some(status),
                    body: body.as_ref().cloned().unwrap_or_default(),
                    error: body.err().map(|e| e.to_string()),
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    set_cookies: cookies,
                }
            }
            Err(e) => fail(if e.is_timeout() {
                format!("timed out after {} ms", self.spec.timeout_ms)
            } else {
                e.to_string()
            }),
        }
    }

    /// Logs an operator in and keeps the session it gets.
    pub(crate) fn login(&mut self, username: &str, password: &str) -> Answer {
        let ctx = Self::context(username, password, "", &BTreeMap::new());
        let a = self.send(&self.spec.login, &ctx, username);
        let auth = match &self.spec.login.capture {
            Some(Capture::Cookie(name)) => a.set_cookies.iter().find_map(|sc| {
                let pair = sc.split(';').next()?.trim();
                let (k, _) = pair.split_once('=')?;
                (k.trim() == name).then(|| Auth::Cookie(pair.to_string()))
            }),
            Some(Capture::Token {
                json_pointer,
                header,
                prefix,
            }) => serde_json::from_str::<Value>(&a.body)
                .ok()
                .and_then(|v| v.pointer(json_pointer.get_ref()).cloned())
                .and_then(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .map(|t| Auth::Header(header.clone(), format!("{prefix}{t}"))),
            None => None,
        };
        if let Some(auth) = auth {
            self.auth.insert(username.to_string(), auth);
        }
        a
    }

    /// Whether the target's login captures a session (cookie or token) for later requests.
    pub(crate) fn captures_a_session(&self) -> bool {
        self.spec.login.capture.is_some()
    }

    pub(crate) fn has_session(&self, username: &str) -> bool {
        self.auth.contains_key(username)
    }

    pub(crate) fn lookup(&self, username: &str, password: &str, nik: &str) -> Answer {
        let ctx = Self::context(username, password, nik, &BTreeMap::new());
        self.send(&self.spec.lookup, &ctx, username)
    }

    pub(crate) fn event(
        &self,
        name: &str,
        username: &str,
        password: &str,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Option<Answer> {
        let t = self.spec.events.get(name)?;
        let ctx = Self::context(username, password, nik, values);
        Some(self.send(t, &ctx, username))
    }

    /// The step values the target's request for event `name` sends to the application.
    pub(crate) fn event_value_keys(&self, name: &str) -> std::collections::BTreeSet<String> {
        self.spec
            .events
            .get(name)
            .map(|t| t.value_keys())
            .unwrap_or_default()
    }

    /// The part of a lookup answer that is the application's output.
    /// The element mapping's reading of a lookup answer, when the target maps elements.
    pub(crate) fn output_elements(&self, body: &str) -> Option<BTreeMap<String, String>> {
        self.spec
            .lookup
            .elements
            .as_ref()
            .map(|m| elements(m, body))
    }

    pub(crate) fn output_text(&self, body: &str) -> String {
        extract(self.spec.lookup.extract.as_ref(), body)
    }

    pub(crate) fn presents_resident(&self, body: &str) -> bool {
        presents(&self.spec.presents_resident, body)
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text at each data element's place (`{element}` in the mapping), for every element
/// whose place exists in the answer.
pub(crate) fn elements(mapping: &Extract, body: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match mapping {
        Extract::JsonPointer(p) => {
            let Ok(v) = serde_json::from_str::<Value>(body) else {
                return out;
            };
            for f in dukcapil_domain::Field::ALL {
                let at = p.get_ref().replace("{element}", f.wire_name());
                if let Some(x) = v.pointer(&at) {
                    let text = match x {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    out.insert(f.wire_name().to_string(), text);
                }
            }
        }
        Extract::Html(sel) => {
            let doc = scraper::Html::parse_document(body);
            for f in dukcapil_domain::Field::ALL {
                let at = sel.get_ref().replace("{element}", f.wire_name());
                let Ok(s) = scraper::Selector::parse(&at) else {
                    continue;
                };
                let found: Vec<String> = doc
                    .select(&s)
                    .map(|n| n.text().collect::<String>())
                    .collect();
                if !found.is_empty() {
                    out.insert(f.wire_name().to_string(), found.join("\n"));
                }
            }
        }
    }
    out
}

pub(crate) fn extract(e: Option<&Extract>, body: &str) -> String {
    match e {
        None => body.to_string(),
        Some(Extract::JsonPointer(p)) => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.pointer(p.get_ref()).cloned())
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default(),
        Some(Extract::Html(sel)) => {
            let doc = scraper::Html::parse_document(body);
            match scraper::Selector::parse(sel.get_ref()) {
                Ok(s) => doc
                    .select(&s)
                    .map(|n| n.text().collect::<String>())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(_) => String::new(),
            }
        }
    }
}

pub(crate) fn presents(r: &Recogniser, body: &str) -> bool {
    match r {
        Recogniser::JsonPointer(p) => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.pointer(p.get_ref()).cloned())
            .is_some_and(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Object(o) => !o.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            }),
        Recogniser::Html(sel) => {
            let doc = scraper::Html::parse_document(body);
            scraper::Selector::parse(sel.get_ref())
                .map(|s| doc.select(&s).next().is_some())
                .unwrap_or(false)
        }
        Recogniser::Contains(s) => body.contains(s.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognisers_and_extraction() {
        let p = |s: &str| toml::Spanned::new(0..0, s.to_string());
        let json = r#"{"status":"found","resident":{"NIK":"9201014107890003"}}"#;
        assert!(presents(&Recogniser::JsonPointer(p("/resident")), json));
        assert!(!presents(
            &Recogniser::JsonPointer(p("/resident")),
            r#"{"status":"not_found","resident":null}"#
        ));
        assert_eq!(
            extract(Some(&Extract::JsonPointer(p("/resident/NIK"))), json),
            "9201014107890003"
        );
        let html = "<table id='d'><tr><td>A'B </td></tr></table><div class='k'></div>";
        assert!(presents(&Recogniser::Html(p("div.k")), html));
        assert_eq!(extract(Some(&Extract::Html(p("table#d td"))), html), "A'B ");
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }
}
