//! HTTP client of the Dukcapil gateway: `CALL_NIK` and data balikan by web service.
//! Transport faults (connect errors, timeouts, 5xx, resets, truncated bodies) are retried a
//! bounded number of times with exponential backoff; business outcomes are never retried.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dukcapil_domain::{mask_nik, Outcome};
use serde_json::json;

use crate::answer::{parse_answer, Answer, AnswerError, NumberMode, ParseOptions};
use crate::config::{Credentials, Defect, Defects};

/// First backoff; doubled per attempt.
const BACKOFF: Duration = Duration::from_millis(200);
/// How long the `unbounded-retry` defect keeps hammering before the HTTP request gives up
/// (it has no attempt limit; this only stops one hung request from living forever).
const UNBOUNDED_WALL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error("gateway tidak dapat dihubungi setelah {attempts} percobaan: {last}")]
    Transport { attempts: u32, last: String },
    #[error("gateway menjawab HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
}

/// One lookup's answer with the raw body (kept only by the `store-answer` defect).
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub answer: Answer,
    pub raw: String,
    pub attempts: u32,
}

/// What the balikan service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BalikanResult {
    Sent,
    /// 400 "Data sudah pernah dikirim": the same values went before, nothing is owed.
    AlreadySent,
    /// 422 or another 4xx: the service refused the values.
    Refused(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    http: reqwest::Client,
    base: String,
    customer_id: String,
    institution: String,
    operator_field: String,
    creds: Credentials,
    retries: u32,
    defects: Defects,
}

enum Attempt<T> {
    Done(T),
    Retry(String),
}

impl Gateway {
    pub(crate) fn new(
        base: &str,
        agreement: &dukcapil_domain::Agreement,
        creds: Credentials,
        timeout: Duration,
        retries: u32,
        defects: Defects,
    ) -> Result<Gateway, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The real gateway presents a self-signed certificate (contract §1).
            .danger_accept_invalid_certs(true)
            .build()?;
        Ok(Gateway {
            http,
            base: base.trim_end_matches('/').to_string(),
            customer_id: agreement.customer_id.clone(),
            institution: agreement.institution.clone(),
            operator_field: agreement.operator_field.clone(),
            creds,
            retries,
            defects,
        })
    }

    /// The `User_ID` value sent for `operator`; `None` leaves the key out.
    fn operator_value(&self, operator: &str) -> Option<String> {
        if self.defects.has(Defect::NoUserId) {
            None
        } else if self.defects.has(Defect::InstitutionalUserId) {
            Some(self.creds.user_id.clone())
        } else if self.defects.has(Defect::ConstantUserId) {
            Some("simrs".to_string())
        } else {
            Some(operator.to_string())
        }
    }

    /// `CALL_NIK` for `nik` on behalf of `operator`.
    pub(crate) async fn call_nik(&self, nik: &str, operator: &str) -> Result<Reply, GatewayError> {
        let url = format!(
            "{}/dukcapil/get_json/{}/CALL_NIK",
            self.base, self.customer_id
        );
        let mut body = serde_json::Map::new();
        body.insert("nik".into(), json!(nik));
        body.insert("user_id".into(), json!(self.creds.user_id));
        body.insert("password".into(), json!(self.creds.password));
        body.insert("ip_user".into(), json!(self.creds.ip_user));
        if let Some(op) = self.operator_value(operator) {
            body.insert(self.operator_field.clone(), json!(op));
        }
        let body = serde_json::Value::Object(body);
        if self.defects.has(Defect::LogPassword) {
            tracing::info!("CALL_NIK request {url} body={body}");
        } else {
            tracing::info!(nik = %mask_nik(nik), operator, "CALL_NIK");
        }
        let opts = ParseOptions {
            numbers: if self.defects.has(Defect::FloatNik) {
                NumberMode::Double
            } else {
                NumberMode::Exact
            },
            error_as_found: self.defects.has(Defect::ErrorAsFound),
        };
        let unbounded = self.defects.has(Defect::UnboundedRetry);
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let last = match self.attempt_lookup(&url, &body, opts).await {
                Attempt::Done(Err(e)) => return Err(e),
                Attempt::Done(Ok((answer, raw))) => {
                    if self.defects.has(Defect::LogAnswers) {
                        tracing::info!("CALL_NIK answer: {raw}");
                    }
                    let quota = matches!(
                        answer,
                        Answer::Outcome {
                            outcome: Outcome::QuotaExhausted,
                            ..
                        }
                    );
                    if !(unbounded && quota) {
                        return Ok(Reply {
                            answer,
                            raw,
                            attempts,
                        });
                    }
                    "kuota habis".to_string()
                }
                Attempt::Retry(why) => why,
            };
            tracing::warn!(attempt = attempts, nik = %mask_nik(nik), "CALL_NIK failed: {last}");
            let give_up = if unbounded {
                started.elapsed() >= UNBOUNDED_WALL
            } else {
                attempts > self.retries
            };
            if give_up {
                return Err(GatewayError::Transport { attempts, last });
            }
            let exp = BACKOFF.saturating_mul(1 << (attempts - 1).min(4));
            tokio::time::sleep(exp.min(Duration::from_secs(2))).await;
        }
    }

    async fn attempt_lookup(
        &self,
        url: &str,
        body: &serde_json::Value,
        opts: ParseOptions,
    ) -> Attempt<Result<(Answer, String), GatewayError>> {
        let resp = match self.http.post(url).json(body).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(describe(&e)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(describe(&e)),
        };
        if status.is_server_error() {
            return Attempt::Retry(format!("HTTP {}", status.as_u16()));
        }
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        if !status.is_success() {
            return Attempt::Done(Err(GatewayError::Rejected {
                status: status.as_u16(),
                body: raw.chars().take(200).collect(),
            }));
        }
        match parse_answer(&bytes, opts) {
            Ok(a) => Attempt::Done(Ok((a, raw))),
            // A cut-off body is a transport fault in disguise: try again.
            Err(e @ AnswerError::NotJson(_)) => Attempt::Retry(e.to_string()),
            Err(e) => Attempt::Done(Err(GatewayError::Rejected {
                status: status.as_u16(),
                body: e.to_string(),
            })),
        }
    }

    /// Sends data balikan for one NIK by web service (contract §6).
    pub(crate) async fn store_balikan(
        &self,
        nik: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<BalikanResult, GatewayError> {
        let url = format!("{}/data_balikan/public/api/store", self.base);
        let body = json!([{
            "id_lembaga": self.customer_id,
            "nama_lembaga": self.institution,
            "data": [{"NIK": nik, "param": [params]}],
        }]);
        tracing::info!(nik = %mask_nik(nik), keys = ?params.keys().collect::<Vec<_>>(), "data balikan");
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self
                .http
                .post(&url)
                .bearer_auth(&self.creds.balikan_token)
                .json(&body)
                .send()
                .await;
            let last = match result {
                Ok(resp) => {
                    let status = resp.status();
                    match resp.bytes().await {
                        Ok(bytes) if !status.is_server_error() => {
                            let text = String::from_utf8_lossy(&bytes);
                            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                                .ok()
                                .and_then(|v| {
                                    v.get("message").and_then(|m| m.as_str()).map(String::from)
                                })
                                .unwrap_or_else(|| text.chars().take(300).collect());
                            return Ok(if status.is_success() {
                                BalikanResult::Sent
                            } else if status.as_u16() == 400
                                && message.to_lowercase().contains("sudah pernah")
                            {
                                BalikanResult::AlreadySent
                            } else {
                                BalikanResult::Refused(format!(
                                    "HTTP {}: {message}",
                                    status.as_u16()
                                ))
                            });
                        }
                        Ok(_) => format!("HTTP {}", status.as_u16()),
                        Err(e) => describe(&e),
                    }
                }
                Err(e) => describe(&e),
            };
            tracing::warn!(attempt = attempts, nik = %mask_nik(nik), "data balikan failed: {last}");
            if attempts > self.retries {
                return Err(GatewayError::Transport { attempts, last });
            }
            tokio::time::sleep(BACKOFF.saturating_mul(1 << (attempts - 1).min(4))).await;
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "waktu tunggu habis".into()
    } else if e.is_connect() {
        "koneksi gagal".into()
    } else if e.is_body() || e.is_decode() {
        "jawaban terputus".into()
    } else {
        e.to_string()
    }
}
