//! What the application does, independent of HTML or JSON: look a NIK up, register a patient,
//! record a death. Pages and the API both render these results.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dukcapil_domain::{mask_nik, Agreement, FieldSet, Outcome};
use serde_json::json;

use crate::answer::{Answer, Record};
use crate::config::{Config, Defect, Defects};
use crate::db::{Db, DbError};
use crate::gateway::{BalikanResult, Gateway, GatewayError};
use crate::quota::QuotaGate;

/// How long after its answer the `late-refresh` defect calls again.
const LATE_REFRESH_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// How many following NIKs the `sequential-job` defect looks up after each lookup.
const SEQUENTIAL_SPAN: u64 = 5;

#[derive(Debug)]
pub(crate) struct App {
    pub config: Config,
    pub agreement: Agreement,
    /// The app's own whitelist: the wire keys its agreement grants.
    pub granted: FieldSet,
    pub gateway: Gateway,
    pub quota: QuotaGate,
    pub defects: Defects,
    db: Mutex<Db>,
    sessions: Mutex<HashMap<String, String>>,
    /// Only used by the `cache-answers` defect.
    cache: Mutex<HashMap<String, Answer>>,
}

/// The result of a lookup, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupView {
    /// The resident's elements: only the keys the agreement grants (all of them under the
    /// `unfiltered-fields` defect).
    Found(Record),
    /// A business outcome other than found.
    Outcome {
        /// The outcome the `RESPON` text stands for.
        outcome: Outcome,
        /// The gateway's own `RESPON` text.
        respon: String,
    },
    /// A `RESPON` text neither catalogue knows.
    Unrecognised {
        /// The gateway's text.
        respon: String,
    },
    /// Held back by the quota gate: no call was made.
    QuotaHeld,
    /// No usable answer (transport faults outlasted the retries, or an HTTP error status);
    /// holds a short detail for the operator.
    GatewayDown(String),
    /// The NIK was rejected before any call; holds the message for the operator.
    InvalidInput(String),
}

impl LookupView {
    /// Machine-readable status for the API: `found`, the outcome's snake-case name, or one of
    /// `quota_exhausted`, `gateway_error`, `unrecognised`, `invalid_input`.
    pub(crate) fn status(&self) -> String {
        match self {
            LookupView::Found(_) => "found".into(),
            LookupView::Outcome { outcome, .. } => serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| outcome.code().into()),
            LookupView::Unrecognised { .. } => "unrecognised".into(),
            LookupView::QuotaHeld => "quota_exhausted".into(),
            LookupView::GatewayDown(_) => "gateway_error".into(),
            LookupView::InvalidInput(_) => "invalid_input".into(),
        }
    }

    /// What the operator is told, in Indonesian.
    pub(crate) fn message(&self) -> String {
        match self {
            LookupView::Found(_) => "Data ditemukan di database kependudukan.".into(),
            LookupView::Outcome { outcome, .. } => outcome_message(*outcome).into(),
            LookupView::Unrecognised { respon } => format!(
                "Jawaban Dukcapil tidak dikenali (\"{respon}\"). Data tidak ditampilkan; hubungi admin SIMRS."
            ),
            LookupView::QuotaHeld => outcome_message(Outcome::QuotaExhausted).into(),
            LookupView::GatewayDown(detail) => format!(
                "Layanan Dukcapil sedang tidak dapat dihubungi ({detail}). Silakan coba beberapa saat lagi; pendaftaran dapat dilanjutkan dengan input manual."
            ),
            LookupView::InvalidInput(m) => m.clone(),
        }
    }

    /// The gateway's own text, when it sent one.
    pub(crate) fn respon(&self) -> Option<&str> {
        match self {
            LookupView::Outcome { respon, .. } | LookupView::Unrecognised { respon } => {
                Some(respon)
            }
            LookupView::QuotaHeld => Some(Outcome::QuotaExhausted.text(Default::default())),
            _ => None,
        }
    }

    pub(crate) fn code(&self) -> Option<&'static str> {
        match self {
            LookupView::Found(_) => Some(Outcome::Found.code()),
            LookupView::Outcome { outcome, .. } => Some(outcome.code()),
            LookupView::QuotaHeld => Some(Outcome::QuotaExhausted.code()),
            _ => None,
        }
    }

    /// The `/api/lookup` answer body.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            LookupView::Found(r) => {
                let resident: serde_json::Map<_, _> = r
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                json!({"status": "found", "code": "01", "message": self.message(), "resident": resident})
            }
            _ => json!({
                "status": self.status(),
                "code": self.code(),
                "message": self.message(),
                "respon": self.respon(),
            }),
        }
    }
}

pub(crate) fn outcome_message(o: Outcome) -> &'static str {
    match o {
        Outcome::Found => "Data ditemukan di database kependudukan.",
        Outcome::LoginFailed => "Gagal login ke layanan Dukcapil: user id atau password instansi salah. Hubungi admin SIMRS.",
        Outcome::IpMismatch => "Alamat IP server SIMRS tidak terdaftar di Dukcapil. Hubungi admin SIMRS.",
        Outcome::QuotaExhausted => "Kuota akses harian ke Dukcapil telah habis. Pencarian NIK dapat dilakukan lagi besok mulai pukul 00.00 WIB; lanjutkan pendaftaran dengan input manual.",
        Outcome::OutsideServiceHours => "Akses ke Dukcapil di luar jam layanan. Silakan coba lagi pada jam layanan.",
        Outcome::InvalidParameters => "Permintaan ke Dukcapil tidak lengkap atau tidak valid. Periksa NIK dan konfigurasi SIMRS.",
        Outcome::EmptyCredentials => "Kredensial instansi (user, password, IP) kosong. Hubungi admin SIMRS.",
        Outcome::Deceased => "NIK terdaftar atas penduduk yang telah meninggal dunia. Data tidak ditampilkan; periksa kembali identitas pasien.",
        Outcome::Duplicate => "NIK tercatat ganda di database kependudukan. Data tidak ditampilkan; sarankan pasien menghubungi Disdukcapil.",
        Outcome::NotFound => "NIK tidak ditemukan di database kependudukan. Periksa kembali NIK yang dimasukkan.",
        Outcome::Inactive => "Status NIK non aktif. Data tidak ditampilkan; sarankan pasien menghubungi Disdukcapil.",
        Outcome::BadNikFormat => "NIK tidak sesuai format Dukcapil. Periksa kembali NIK yang dimasukkan.",
        Outcome::InstitutionInactive => "Akses RSUD ke Dukcapil tidak aktif (PKS berakhir atau dicabut). Hubungi admin SIMRS.",
        Outcome::UserIdInactive => "User ID instansi di Dukcapil non aktif. Hubungi admin SIMRS.",
    }
}

/// The outcome of registering a patient or recording a death.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventView {
    pub status: &'static str,
    pub no_rm: Option<String>,
    pub balikan: BalikanStatus,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BalikanStatus {
    Sent,
    AlreadySent,
    /// The NIK was never found by a lookup: nothing is owed.
    NotOwed,
    Failed(String),
    /// None of the service's values is one the agreement lists as balikan.
    NothingListed,
    /// The request was invalid; nothing happened.
    None,
}

impl BalikanStatus {
    pub(crate) fn key(&self) -> &'static str {
        match self {
            BalikanStatus::Sent => "sent",
            BalikanStatus::AlreadySent => "already_sent",
            BalikanStatus::NotOwed => "not_owed",
            BalikanStatus::Failed(_) => "failed",
            BalikanStatus::NothingListed => "nothing_listed",
            BalikanStatus::None => "none",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            BalikanStatus::Sent => "Data balikan terkirim ke Dukcapil.".into(),
            BalikanStatus::AlreadySent => "Data balikan yang sama sudah pernah dikirim.".into(),
            BalikanStatus::NotOwed => {
                "NIK belum pernah ditemukan lewat pencarian Dukcapil; tidak ada data balikan yang wajib dikirim.".into()
            }
            BalikanStatus::Failed(why) => format!("Data balikan gagal dikirim: {why}"),
            BalikanStatus::NothingListed => {
                "Tidak ada nilai layanan yang termasuk data balikan PKS; tidak ada yang dikirim.".into()
            }
            BalikanStatus::None => String::new(),
        }
    }
}

impl EventView {
    fn invalid(message: String) -> EventView {
        EventView {
            status: "invalid_input",
            no_rm: None,
            balikan: BalikanStatus::None,
            message,
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        json!({
            "status": self.status,
            "no_rm": self.no_rm,
            "balikan": self.balikan.key(),
            "message": self.message,
            "balikan_message": self.balikan.message(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("agreement `{0}` is not one of the shipped profiles")]
    UnknownAgreement(String),
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Trims and checks a NIK typed by an operator. The gateway judges the Dukcapil format
/// (outcome 15); here only what cannot be a NIK at all is refused.
pub(crate) fn clean_nik(raw: &str) -> Result<String, String> {
    let nik = raw.trim();
    if nik.is_empty() {
        return Err("NIK wajib diisi.".into());
    }
    if nik.chars().count() > 20 || !nik.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("NIK harus berupa 16 digit angka.".into());
    }
    Ok(nik.to_string())
}

impl App {
    pub(crate) fn new(config: Config, db: Db) -> Result<Arc<App>, AppError> {
        let agreement = Agreement::embedded()
            .into_iter()
            .find(|a| a.id == config.agreement)
            .ok_or_else(|| AppError::UnknownAgreement(config.agreement.clone()))?;
        let creds = config.credentials.resolve(&agreement.credentials);
        let gateway = Gateway::new(
            &config.gateway_url,
            &agreement,
            creds,
            Duration::from_millis(config.timeout_ms),
            config.retries,
            config.defects.clone(),
        )?;
        for op in &config.operators {
            db.seed_operator(&op.username, &op.password)?;
        }
        let defects = config.defects.clone();
        let app = Arc::new(App {
            granted: agreement.granted,
            agreement,
            gateway,
            quota: QuotaGate::default(),
            defects,
            db: Mutex::new(db),
            sessions: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            config,
        });
        Ok(app)
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks an operator's password; on success returns a new session token.
    pub(crate) fn login(&self, username: &str, password: &str) -> Result<Option<String>, AppError> {
        if !self.db().verify_operator(username, password)? {
            tracing::info!(username, "login refused");
            return Ok(None);
        }
        let token: String = {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (0..32)
                .map(|_| format!("{:02x}", rng.gen::<u8>()))
                .collect()
        };
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), username.to_string());
        tracing::info!(username, "login");
        Ok(Some(token))
    }

    pub(crate) fn logout(&self, token: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    pub(crate) fn session_user(&self, token: &str) -> Option<String> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    /// An operator's lookup.
    pub(crate) async fn lookup(
        &self,
        operator: &str,
        raw_nik: &str,
    ) -> Result<LookupView, AppError> {
        let nik = match clean_nik(raw_nik) {
            Ok(n) => n,
            Err(m) => return Ok(LookupView::InvalidInput(m)),
        };
        let view = self.lookup_nik(operator, &nik).await?;
        if self.defects.has(Defect::SequentialJob) {
            self.prefetch_following(operator, &nik).await;
        }
        if self.defects.has(Defect::LateRefresh) {
            // Queued, not awaited: the call comes after the answer, outside the action.
            let (gateway, nik, operator) =
                (self.gateway.clone(), nik.clone(), operator.to_string());
            tokio::spawn(async move {
                tokio::time::sleep(LATE_REFRESH_AFTER).await;
                let _ = gateway.call_nik(&nik, &operator).await;
            });
        }
        Ok(view)
    }

    /// The `sequential-job` defect's "family prefetch": the following NIKs by serial number,
    /// looked up before the operator's answer is shown. Awaited, not queued to a background
    /// task, so that what it costs (requests in the operator's action, quota used up by NIKs
    /// nobody asked for) lands in the same action however loaded the machine is.
    async fn prefetch_following(&self, operator: &str, nik: &str) {
        let Ok(start) = nik.parse::<u64>() else {
            return;
        };
        for next in (start + 1)..=(start + SEQUENTIAL_SPAN) {
            let _ = self.lookup_nik(operator, &format!("{next:016}")).await;
        }
    }

    async fn lookup_nik(&self, operator: &str, nik: &str) -> Result<LookupView, AppError> {
        let unbounded = self.defects.has(Defect::UnboundedRetry);
        if !unbounded && self.quota.blocked(chrono::Utc::now()) {
            tracing::info!(nik = %mask_nik(nik), "lookup held back: quota used up today");
            return Ok(LookupView::QuotaHeld);
        }
        if self.defects.has(Defect::CacheAnswers) {
            let hit = self
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(nik)
                .cloned();
            if let Some(answer) = hit {
                return Ok(self.view_of(answer));
            }
        }
        if self.defects.has(Defect::DoubleCall) {
            // The defect: a "does it exist?" call before the real one.
            let _ = self.gateway.call_nik(nik, operator).await;
        }
        let reply = match self.gateway.call_nik(nik, operator).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(nik = %mask_nik(nik), "lookup failed: {e}");
                let detail = match e {
                    GatewayError::Transport { attempts, .. } => {
                        format!("gagal setelah {attempts} percobaan")
                    }
                    GatewayError::Rejected { status, .. } => format!("HTTP {status}"),
                };
                return Ok(LookupView::GatewayDown(detail));
            }
        };
        let code = match &reply.answer {
            Answer::Found(_) => Outcome::Found.code(),
            Answer::Outcome { outcome, .. } => outcome.code(),
            Answer::Unrecognised { .. } => "??",
        };
        self.db().record_lookup(nik, operator, code)?;
        if let Answer::Outcome {
            outcome: Outcome::QuotaExhausted,
            ..
        } = reply.answer
        {
            self.quota.exhausted(chrono::Utc::now());
        }
        if let Answer::Found(_) = &reply.answer {
            if self.defects.has(Defect::StoreAnswer) {
                self.db().store_answer(nik, &reply.raw)?;
            }
            if self.defects.has(Defect::CacheAnswers) {
                self.cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(nik.to_string(), reply.answer.clone());
            }
        }
        tracing::info!(nik = %mask_nik(nik), operator, outcome = code, attempts = reply.attempts, "lookup");
        Ok(self.view_of(reply.answer))
    }

    fn view_of(&self, answer: Answer) -> LookupView {
        match answer {
            Answer::Found(mut record) => {
                if !self.defects.has(Defect::UnfilteredFields) {
                    record.retain_granted(self.granted);
                }
                LookupView::Found(record)
            }
            Answer::Outcome { outcome, respon } => LookupView::Outcome { outcome, respon },
            Answer::Unrecognised { respon } => LookupView::Unrecognised { respon },
        }
    }

    /// Registers a patient (or a new visit) and sends `NO_RM` (+ `GOL_DARAH`) as balikan.
    pub(crate) async fn register_patient(
        &self,
        operator: &str,
        raw_nik: &str,
        gol_darah: Option<&str>,
    ) -> Result<EventView, AppError> {
        let mut entered = BTreeMap::new();
        if let Some(g) = gol_darah {
            entered.insert("GOL_DARAH".to_string(), g.to_string());
        }
        self.record_service(operator, raw_nik, &entered).await
    }

    /// A service at the desk (a registration or a visit) with the values the operator entered:
    /// each one the agreement lists as balikan is checked against its format and sent back
    /// with the medical record number the SIMRS assigns (where the agreement asks for `NO_RM`).
    pub(crate) async fn record_service(
        &self,
        operator: &str,
        raw_nik: &str,
        entered: &BTreeMap<String, String>,
    ) -> Result<EventView, AppError> {
        let nik = match clean_nik(raw_nik) {
            Ok(n) => n,
            Err(m) => return Ok(EventView::invalid(m)),
        };
        let entered: BTreeMap<&str, &str> = entered
            .iter()
            .map(|(k, v)| (k.as_str(), v.trim()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        for (key, value) in &entered {
            if let Some(field) = self.agreement.balikan_field(key) {
                if let Err(e) = field.check(value) {
                    let what = if field.label.is_empty() {
                        key.to_string()
                    } else {
                        field.label.clone()
                    };
                    return Ok(EventView::invalid(format!("{what} {e}.")));
                }
            }
        }
        let gol = entered.get("GOL_DARAH").copied();
        let (patient, new) = self.db().register_patient(&nik, gol, operator)?;
        let mut params: BTreeMap<String, String> = entered
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.insert("NO_RM".to_string(), patient.no_rm.clone());
        let balikan = self.balikan(&nik, params).await?;
        Ok(EventView {
            status: "registered",
            message: if new {
                format!(
                    "Pasien baru terdaftar dengan nomor rekam medis {}.",
                    patient.no_rm
                )
            } else {
                format!("Kunjungan baru dicatat untuk pasien {}.", patient.no_rm)
            },
            no_rm: Some(patient.no_rm),
            balikan,
        })
    }

    /// Records a death and sends `NO_RM` + `NO_SURAT_KEMATIAN` as balikan.
    pub(crate) async fn record_death(
        &self,
        operator: &str,
        raw_nik: &str,
        certificate: &str,
    ) -> Result<EventView, AppError> {
        let nik = match clean_nik(raw_nik) {
            Ok(n) => n,
            Err(m) => return Ok(EventView::invalid(m)),
        };
        let certificate = certificate.trim();
        if let Some(field) = self.agreement.balikan_field("NO_SURAT_KEMATIAN") {
            if let Err(e) = field.check(certificate) {
                return Ok(EventView::invalid(format!("Nomor surat kematian {e}.")));
            }
        }
        let patient = {
            let db = self.db();
            let patient = match db.patient(&nik)? {
                Some(p) => p,
                None => db.register_patient(&nik, None, operator)?.0,
            };
            db.record_death(&patient, certificate, operator)?;
            patient
        };
        let mut params = BTreeMap::new();
        params.insert("NO_RM".to_string(), patient.no_rm.clone());
        params.insert("NO_SURAT_KEMATIAN".to_string(), certificate.to_string());
        let balikan = self.balikan(&nik, params).await?;
        Ok(EventView {
            status: "recorded",
            message: format!("Kematian pasien {} dicatat.", patient.no_rm),
            no_rm: Some(patient.no_rm),
            balikan,
        })
    }

    async fn balikan(
        &self,
        nik: &str,
        mut params: BTreeMap<String, String>,
    ) -> Result<BalikanStatus, AppError> {
        if self.defects.has(Defect::NoBalikan) {
            // The defect: the SIMRS never got its balikan module.
            return Ok(BalikanStatus::None);
        }
        if !self.db().was_found(nik)? {
            return Ok(BalikanStatus::NotOwed);
        }
        if self.defects.has(Defect::BalikanMissingField) {
            params.retain(|key, _| {
                !self
                    .agreement
                    .balikan_field(key)
                    .is_some_and(|f| f.required)
            });
        }
        if self.defects.has(Defect::DropsBalikanValue) {
            params.retain(|key, _| {
                self.agreement
                    .balikan_field(key)
                    .is_some_and(|f| f.required)
            });
        }
        // Only what the agreement names goes back: a key outside its balikan list is refused
        // by the service and would take the owed values down with it.
        params.retain(|key, _| self.agreement.balikan_field(key).is_some());
        if params.is_empty() {
            return Ok(BalikanStatus::NothingListed);
        }
        Ok(match self.gateway.store_balikan(nik, &params).await {
            Ok(BalikanResult::Sent) => BalikanStatus::Sent,
            Ok(BalikanResult::AlreadySent) => BalikanStatus::AlreadySent,
            Ok(BalikanResult::Refused(m)) => {
                tracing::warn!(nik = %mask_nik(nik), "data balikan refused: {m}");
                BalikanStatus::Failed(m)
            }
            Err(e) => BalikanStatus::Failed(e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nik_input_is_trimmed_and_bounded() {
        assert_eq!(clean_nik(" 3313014107890003 ").unwrap(), "3313014107890003");
        assert!(clean_nik("").is_err());
        assert!(clean_nik("3313 0141").is_err());
        assert!(clean_nik("1'; DROP TABLE x").is_err());
        assert!(clean_nik(&"9".repeat(21)).is_err());
    }

    #[test]
    fn every_outcome_has_a_status_and_an_indonesian_message() {
        let mut statuses = std::collections::HashSet::new();
        for &o in Outcome::ALL.iter().filter(|o| **o != Outcome::Found) {
            let v = LookupView::Outcome {
                outcome: o,
                respon: o.text(Default::default()).into(),
            };
            assert!(statuses.insert(v.status()), "{o:?}");
            assert_ne!(v.status(), "found");
            let j = v.to_json();
            assert_eq!(j["code"], o.code());
            assert!(j.get("resident").is_none());
            assert!(!v.message().is_empty());
        }
        assert_eq!(LookupView::QuotaHeld.status(), "quota_exhausted");
    }
}
