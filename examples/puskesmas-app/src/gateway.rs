//! The Dukcapil gateway client: `CALL_NIK` on behalf of one operator and data balikan, with
//! bounded retries and backoff on transport faults, and the quota hold after outcome `05`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, Utc};
use dukcapil_domain::Outcome;
use serde_json::{json, Value};

use crate::config::{Config, Credentials, Defect, Defects};

/// What a lookup came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Every key the gateway returned, values as exact strings (NIKs never through a double).
    Found(BTreeMap<String, String>),
    /// A business outcome other than found, with the gateway's text.
    Refused(Outcome, String),
    /// A `RESPON` text neither catalogue knows.
    Unrecognised(String),
    /// No usable answer after the allowed attempts.
    Fault(String),
    /// Not sent: the quota of the WIB day `NaiveDate` is used up.
    QuotaHeld(NaiveDate),
}

impl Lookup {
    /// The code the audit table keeps.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Lookup::Found(_) => "01",
            Lookup::Refused(o, _) => o.code(),
            Lookup::Unrecognised(_) => "??",
            Lookup::Fault(_) => "ERR",
            Lookup::QuotaHeld(_) => "HOLD",
        }
    }
}

/// What became of one data balikan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Balikan {
    Sent,
    AlreadySent,
    Failed(String),
}

impl Balikan {
    /// The visit register's wording.
    pub(crate) fn status(&self) -> String {
        match self {
            Balikan::Sent => "terkirim".into(),
            Balikan::AlreadySent => "sudah pernah dikirim".into(),
            Balikan::Failed(m) => format!("gagal: {m}"),
        }
    }
}

/// The local day the gateway's quota counts in (WIB, UTC+7).
pub(crate) fn wib_today() -> NaiveDate {
    let wib = FixedOffset::east_opt(7 * 3600).expect("valid offset");
    Utc::now().with_timezone(&wib).date_naive()
}

/// `3303**********03`: NIKs in logs.
pub(crate) fn mask(nik: &str) -> String {
    if nik.len() == 16 && nik.is_ascii() {
        format!("{}**********{}", &nik[..4], &nik[14..])
    } else {
        "****".into()
    }
}

#[derive(Debug)]
pub(crate) struct Gateway {
    http: reqwest::Client,
    url: String,
    customer_id: String,
    institution: String,
    operator_field: String,
    credentials: Credentials,
    retries: u32,
    defects: Defects,
}

/// Under `unbounded-retries`: no attempt limit and no growing pause, only the time the
/// operator's browser would wait anyway.
const UNBOUNDED_DEADLINE: Duration = Duration::from_secs(15);
const UNBOUNDED_PAUSE: Duration = Duration::from_millis(50);

/// One attempt's result before the retry policy looks at it.
enum Attempt {
    Answer(Value),
    Fault(String),
}

impl Gateway {
    pub(crate) fn new(config: &Config) -> anyhow::Result<Gateway> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .build()?;
        Ok(Gateway {
            http,
            url: config.gateway_url.clone(),
            customer_id: config.agreement.customer_id.clone(),
            institution: config.agreement.institution.clone(),
            operator_field: config.agreement.operator_field.clone(),
            credentials: config.credentials.clone(),
            retries: config.retries,
            defects: config.defects.clone(),
        })
    }

    /// One `CALL_NIK` for `operator` (retries included). The caller checks the quota hold.
    pub(crate) async fn call_nik(&self, nik: &str, operator: &str) -> Lookup {
        let user = if self.defects.has(Defect::ConstantUserId) {
            "sistem.puskesmas"
        } else {
            operator
        };
        let mut body = json!({
            "nik": nik,
            "user_id": self.credentials.user_id,
            "password": self.credentials.password,
            "ip_user": self.credentials.ip_user,
        });
        body[self.operator_field.as_str()] = Value::String(user.to_string());
        let url = format!(
            "{}/dukcapil/get_json/{}/CALL_NIK",
            self.url, self.customer_id
        );
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let result = match self.post(&url, &body).await {
                Attempt::Answer(v) => interpret(&v),
                Attempt::Fault(f) => Lookup::Fault(f),
            };
            attempt += 1;
            let unbounded = self.defects.has(Defect::UnboundedRetries);
            let again = match &result {
                Lookup::Fault(_) => true,
                // The unbounded variant takes a refusal for a passing hiccup.
                Lookup::Refused(Outcome::QuotaExhausted, _) => unbounded,
                _ => false,
            };
            if !again {
                return result;
            }
            if unbounded {
                if started.elapsed() >= UNBOUNDED_DEADLINE {
                    return result;
                }
                tokio::time::sleep(UNBOUNDED_PAUSE).await;
                continue;
            }
            if attempt > self.retries {
                tracing::warn!(nik = %mask(nik), attempts = attempt, "gateway unusable");
                return result;
            }
            // 250 ms, 500 ms, 1 s ...
            tokio::time::sleep(Duration::from_millis(250 << (attempt - 1).min(4))).await;
        }
    }

    /// Sends one resident's balikan values; bounded retries on transport faults.
    pub(crate) async fn send_balikan(
        &self,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Balikan {
        let body = json!([{
            "id_lembaga": self.customer_id,
            "nama_lembaga": self.institution,
            "data": [{"NIK": nik, "param": [values]}],
        }]);
        let url = format!("{}/data_balikan/public/api/store", self.url);
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << (attempt - 1).min(4))).await;
            }
            match self.post_status(&url, &body).await {
                Ok((200, _)) => return Balikan::Sent,
                Ok((400, m)) if m.to_lowercase().contains("sudah pernah dikirim") => {
                    return Balikan::AlreadySent
                }
                Ok((s, m)) if s < 500 => return Balikan::Failed(format!("HTTP {s}: {m}")),
                Ok((s, m)) => last = format!("HTTP {s}: {m}"),
                Err(e) => last = e,
            }
        }
        tracing::warn!(nik = %mask(nik), "balikan not delivered");
        Balikan::Failed(last)
    }

    async fn post(&self, url: &str, body: &Value) -> Attempt {
        let resp = match self.http.post(url).json(body).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Fault(describe(&e)),
        };
        let status = resp.status();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Attempt::Fault(describe(&e)),
        };
        if status.is_server_error() {
            return Attempt::Fault(format!("HTTP {}", status.as_u16()));
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => Attempt::Answer(v),
            // A cut-off body is a transport fault, not an answer.
            Err(_) => Attempt::Fault(format!("jawaban tidak utuh (HTTP {})", status.as_u16())),
        }
    }

    async fn post_status(&self, url: &str, body: &Value) -> Result<(u16, String), String> {
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.credentials.balikan_token)
            .json(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| describe(&e))?;
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(200).collect());
        Ok((status, message))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "waktu tunggu habis".into()
    } else if e.is_connect() {
        "tidak dapat terhubung".into()
    } else {
        "koneksi terputus".into()
    }
}

/// Reads the page envelope: `content[0]` is the record, or an object with only `RESPON`.
pub(crate) fn interpret(v: &Value) -> Lookup {
    let Some(first) = v
        .get("content")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_object)
    else {
        return Lookup::Unrecognised("jawaban tanpa isi (content)".into());
    };
    if let Some(respon) = first.get("RESPON") {
        let text = match respon {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return match Outcome::from_text(&text) {
            Some(o) => Lookup::Refused(o, text),
            None => Lookup::Unrecognised(text),
        };
    }
    let mut record = BTreeMap::new();
    for (k, val) in first {
        let s = match val {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            // serde_json keeps integers up to u64 exact: 16-digit NIKs survive.
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        let s = match k.as_str() {
            "NIK" | "NO_KK" if s.len() < 16 && s.chars().all(|c| c.is_ascii_digit()) => {
                format!("{s:0>16}")
            }
            "TGL_LHR" => iso_date(&s).unwrap_or(s),
            _ => s,
        };
        record.insert(k.clone(), s);
    }
    if !record.contains_key("NIK") {
        return Lookup::Unrecognised("data tanpa NIK".into());
    }
    Lookup::Found(record)
}

/// `YYYY-MM-DD` from any of the gateway's three date forms.
fn iso_date(s: &str) -> Option<String> {
    ["%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s.trim(), f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_exactly() {
        let v: Value = serde_json::from_str(
            r#"{"content":[{"NIK":9201014107890003,"NO_KK":null,"NAMA_LGKP":"SRI' LESTARI ","TGL_LHR":"01.07.1989","NO_RT":2}],"lastPage":true}"#,
        )
        .unwrap();
        let Lookup::Found(r) = interpret(&v) else {
            panic!("{:?}", interpret(&v))
        };
        assert_eq!(r["NIK"], "9201014107890003");
        assert_eq!(r["NAMA_LGKP"], "SRI' LESTARI ");
        assert_eq!(r["TGL_LHR"], "1989-07-01");
        assert_eq!(r["NO_RT"], "2");
        assert!(!r.contains_key("NO_KK"));
        for o in Outcome::ALL.iter().filter(|o| **o != Outcome::Found) {
            for cat in [
                dukcapil_domain::Catalogue::Gateway,
                dukcapil_domain::Catalogue::Juknis,
            ] {
                let v = json!({"content": [{"RESPON": o.text(cat)}]});
                assert_eq!(interpret(&v), Lookup::Refused(*o, o.text(cat).into()));
            }
        }
        assert!(matches!(
            interpret(&json!({"content": [{"RESPON": "Sesuatu lain"}]})),
            Lookup::Unrecognised(_)
        ));
        assert!(matches!(
            interpret(&json!({"x": 1})),
            Lookup::Unrecognised(_)
        ));
        assert_eq!(mask("3303014107890003"), "3303**********03");
    }
}
