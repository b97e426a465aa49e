//! The registration desk's rules, between the pages and the gateway: which elements are shown,
//! the quota hold, the lookup audit, service events and the balikan they owe.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use dukcapil_domain::{Field, FieldSet, Outcome};

use crate::config::{Config, Defect};
use crate::gateway::{mask, wib_today, Balikan, Gateway, Lookup};
use crate::store::{Store, Visit};

const QUOTA_HOLD_KEY: &str = "kuota_habis_hari";

#[derive(Debug)]
pub(crate) struct Desk {
    pub config: Config,
    pub store: Store,
    pub gateway: Gateway,
    /// Elements the desk shows: the agreement's grant (its own whitelist, whatever the gateway
    /// returns).
    pub shown: FieldSet,
    /// WIB day whose quota is used up (also kept in the database across restarts).
    quota_hold: Mutex<Option<NaiveDate>>,
    /// `background-crawler`: the last NIK looked up and by whom.
    pub crawl_seed: Mutex<Option<(u64, String)>>,
}

/// A service event the operator records for a found resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// Registration for a visit (NO_RM, NO_JKN).
    Visit,
    /// Death (NO_SURAT_KEMATIAN).
    Death,
    /// Birth (NO_SURAT_KELAHIRAN).
    Birth,
}

impl EventKind {
    pub(crate) fn parse(s: &str) -> Option<EventKind> {
        match s {
            "kunjungan" => Some(EventKind::Visit),
            "kematian" => Some(EventKind::Death),
            "kelahiran" => Some(EventKind::Birth),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            EventKind::Visit => "kunjungan",
            EventKind::Death => "kematian",
            EventKind::Birth => "kelahiran",
        }
    }

    fn certificate_key(self) -> Option<&'static str> {
        match self {
            EventKind::Visit => None,
            EventKind::Death => Some("NO_SURAT_KEMATIAN"),
            EventKind::Birth => Some("NO_SURAT_KELAHIRAN"),
        }
    }
}

/// What the operator typed on the service form.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventInput {
    pub no_rm: String,
    pub no_jkn: String,
    pub certificate: String,
    /// The agreement's other balikan values, by key (form fields `balikan.KEY`).
    pub balikan: BTreeMap<String, String>,
}

/// The keys a visit form asks for itself; the agreement's other balikan keys get a field of
/// their own (`balikan.KEY`).
pub(crate) const FORM_KEYS: [&str; 4] =
    ["NO_RM", "NO_JKN", "NO_SURAT_KEMATIAN", "NO_SURAT_KELAHIRAN"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventOutcome {
    Recorded {
        no_rm: String,
        balikan: Option<Balikan>,
    },
    Invalid(String),
}

impl Desk {
    pub(crate) fn new(config: Config, store: Store) -> anyhow::Result<Arc<Desk>> {
        for o in &config.operators {
            store.seed_operator(&o.username, &o.password)?;
        }
        let gateway = Gateway::new(&config)?;
        let mut shown = config.agreement.granted;
        if config.defects.has(Defect::ShowsExtraElement) {
            shown.insert(Field::NamaLgkpIbu);
        }
        let hold = store
            .setting(QUOTA_HOLD_KEY)?
            .and_then(|d| d.parse::<NaiveDate>().ok());
        Ok(Arc::new(Desk {
            config,
            store,
            gateway,
            shown,
            quota_hold: Mutex::new(hold),
            crawl_seed: Mutex::new(None),
        }))
    }

    /// The day the quota is held for, if that is today (WIB).
    pub(crate) fn quota_held(&self) -> Option<NaiveDate> {
        let hold = *self.quota_hold.lock().unwrap_or_else(|e| e.into_inner());
        hold.filter(|d| *d == wib_today())
    }

    fn hold_quota(&self) {
        let today = wib_today();
        *self.quota_hold.lock().unwrap_or_else(|e| e.into_inner()) = Some(today);
        if let Err(e) = self.store.set_setting(QUOTA_HOLD_KEY, &today.to_string()) {
            tracing::error!(error = %e, "cannot keep the quota hold");
        }
    }

    /// One operator action: one `CALL_NIK` (none while the quota is held).
    pub(crate) async fn lookup(&self, nik: &str, operator: &str) -> Lookup {
        if let Some(day) = self.quota_held() {
            return Lookup::QuotaHeld(day);
        }
        let result = self.gateway.call_nik(nik, operator).await;
        tracing::info!(nik = %mask(nik), operator, code = result.code(), "lookup");
        if let Err(e) = self.store.record_lookup(nik, operator, result.code()) {
            tracing::error!(error = %e, "cannot write the lookup audit");
        }
        match &result {
            Lookup::Refused(Outcome::QuotaExhausted, _) => self.hold_quota(),
            Lookup::Found(record) => {
                if self.config.defects.has(Defect::StoresAnswers) {
                    let json = serde_json::to_string(record).unwrap_or_default();
                    if let Err(e) = self.store.archive_resident(nik, &json) {
                        tracing::error!(error = %e, "archive");
                    }
                }
                if let Ok(n) = nik.parse::<u64>() {
                    *self.crawl_seed.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((n, operator.to_string()));
                }
            }
            _ => {}
        }
        result
    }

    /// The shown part of a found record, in the page's order.
    pub(crate) fn shown_elements(&self, record: &BTreeMap<String, String>) -> Vec<(Field, String)> {
        Field::ALL
            .iter()
            .copied()
            .filter(|f| self.shown.contains(*f))
            .filter_map(|f| record.get(f.wire_name()).map(|v| (f, v.clone())))
            .collect()
    }

    /// Records a service event and sends the balikan it owes (only for NIKs a lookup found).
    pub(crate) async fn record_event(
        &self,
        nik: &str,
        kind: EventKind,
        input: &EventInput,
        operator: &str,
    ) -> anyhow::Result<EventOutcome> {
        let agreement = &self.config.agreement;
        let mut values = BTreeMap::new();
        let no_rm = match input.no_rm.trim() {
            "" => match self.store.medical_record(nik)? {
                Some(rm) => rm,
                None => self.store.next_medical_record()?,
            },
            given => given.to_string(),
        };
        values.insert("NO_RM".to_string(), no_rm.clone());
        if !input.no_jkn.trim().is_empty() {
            values.insert("NO_JKN".to_string(), input.no_jkn.trim().to_string());
        }
        for (k, v) in &input.balikan {
            if !v.trim().is_empty() && !FORM_KEYS.contains(&k.as_str()) {
                values.insert(k.clone(), v.trim().to_string());
            }
        }
        let certificate = input.certificate.trim();
        if let Some(key) = kind.certificate_key() {
            if certificate.is_empty() {
                return Ok(EventOutcome::Invalid(format!(
                    "{} wajib diisi.",
                    agreement
                        .balikan_field(key)
                        .map_or(key, |f| f.label.as_str())
                )));
            }
            values.insert(key.to_string(), certificate.to_string());
        }
        for (k, v) in &values {
            if let Some(field) = agreement.balikan_field(k) {
                if let Err(e) = field.check(v) {
                    return Ok(EventOutcome::Invalid(format!("{}: {e}.", field.label)));
                }
            }
        }
        let owed = self.store.was_found(nik)?;
        let mut visit = Visit {
            id: 0,
            nik: nik.to_string(),
            kind: kind.name().to_string(),
            no_rm: no_rm.clone(),
            no_jkn: values.get("NO_JKN").cloned(),
            certificate: kind.certificate_key().map(|_| certificate.to_string()),
            operator: operator.to_string(),
            balikan: if owed { "menunggu" } else { "tidak wajib" }.to_string(),
        };
        visit.id = self.store.add_visit(&visit)?;
        if !owed {
            return Ok(EventOutcome::Recorded {
                no_rm,
                balikan: None,
            });
        }
        // Only what the agreement lists goes back (NO_RM means nothing to a sub-district).
        values.retain(|k, _| agreement.balikan_field(k).is_some());
        if self.config.defects.has(Defect::DropsBalikanValue) {
            // The form field is read and kept, but the balikan mapping was never updated for
            // the agreement's last key the operator filled in.
            let entered = |k: &str| match k {
                "NO_RM" => !input.no_rm.trim().is_empty(),
                "NO_JKN" => !input.no_jkn.trim().is_empty(),
                k => input.balikan.get(k).is_some_and(|v| !v.trim().is_empty()),
            };
            if let Some(last) = agreement
                .balikan
                .iter()
                .rev()
                .find(|b| values.contains_key(&b.key) && entered(&b.key))
            {
                values.remove(&last.key);
            }
        }
        let b = self.gateway.send_balikan(nik, &values).await;
        tracing::info!(nik = %mask(nik), status = %b.status(), "balikan");
        self.store.set_visit_balikan(visit.id, &b.status())?;
        Ok(EventOutcome::Recorded {
            no_rm,
            balikan: Some(b),
        })
    }

    /// `background-crawler`: every interval, looks up the five NIKs after the last one looked
    /// up, as the operator who looked it up ("sinkronisasi data pasien").
    pub(crate) fn spawn_crawler(self: &Arc<Desk>) {
        let desk = Arc::clone(self);
        tokio::spawn(async move {
            let pause = std::time::Duration::from_millis(desk.config.crawler_interval_ms);
            loop {
                tokio::time::sleep(pause).await;
                let seed = desk
                    .crawl_seed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let Some((mut nik, operator)) = seed else {
                    continue;
                };
                for _ in 0..5 {
                    nik += 1;
                    if desk.quota_held().is_some() {
                        break;
                    }
                    let n = format!("{nik:016}");
                    let _ = desk.gateway.call_nik(&n, &operator).await;
                }
                // Continue from where this round stopped, not from the operator's NIK.
                let mut s = desk.crawl_seed.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((last, _)) = s.as_mut() {
                    if *last < nik {
                        *last = nik;
                    }
                }
            }
        });
    }
}

/// The operator's message for every result but a found resident (Bahasa Indonesia).
pub(crate) fn message(l: &Lookup) -> String {
    match l {
        Lookup::Found(_) => "Data ditemukan.".into(),
        Lookup::QuotaHeld(_) | Lookup::Refused(Outcome::QuotaExhausted, _) => {
            "Kuota akses Dukcapil hari ini telah habis. Pencarian NIK dihentikan sampai pukul \
             00.00 WIB besok; layani pasien dengan KTP/KK dan catat NIK secara manual."
                .into()
        }
        Lookup::Refused(o, _) => match o {
            Outcome::LoginFailed => {
                "Aplikasi gagal masuk ke layanan Dukcapil (Gagal Login). Hubungi admin aplikasi."
            }
            Outcome::IpMismatch => {
                "Alamat IP puskesmas tidak terdaftar di Dukcapil. Hubungi admin jaringan."
            }
            Outcome::OutsideServiceHours => {
                "Di luar jam layanan Dukcapil. Silakan coba lagi pada jam layanan."
            }
            Outcome::InvalidParameters => {
                "Permintaan ke Dukcapil tidak lengkap atau tidak valid. Hubungi admin aplikasi."
            }
            Outcome::EmptyCredentials => {
                "User, kata sandi, atau IP aplikasi belum diisi. Hubungi admin aplikasi."
            }
            Outcome::Deceased => {
                "Data ditemukan: penduduk tercatat meninggal dunia. Data tidak ditampilkan."
            }
            Outcome::Duplicate => {
                "Data ganda di database kependudukan. Sarankan penduduk menghubungi Disdukcapil."
            }
            Outcome::NotFound => {
                "NIK tidak terdapat di database kependudukan. Periksa kembali NIK pada KTP atau KK."
            }
            Outcome::Inactive => {
                "Status NIK non aktif. Sarankan penduduk menghubungi Dinas Dukcapil."
            }
            Outcome::BadNikFormat => {
                "NIK tidak sesuai format Dukcapil. Periksa kembali 16 digit NIK."
            }
            Outcome::InstitutionInactive => {
                "Instansi tidak aktif (PKS berakhir atau dicabut). Hubungi Disdukcapil."
            }
            Outcome::UserIdInactive => "User ID puskesmas non aktif. Hubungi Admin Disdukcapil.",
            Outcome::Found | Outcome::QuotaExhausted => "Data ditemukan.",
        }
        .into(),
        Lookup::Unrecognised(t) => format!(
            "Jawaban Dukcapil tidak dikenali ({t}). Data tidak ditampilkan; hubungi admin aplikasi."
        ),
        Lookup::Fault(f) => format!(
            "Layanan Dukcapil tidak dapat dihubungi ({f}). Silakan coba lagi beberapa saat lagi."
        ),
    }
}

/// Indonesian labels of the elements a desk may show.
pub(crate) fn label(f: Field) -> &'static str {
    match f {
        Field::NoKk => "Nomor KK",
        Field::Nik => "NIK",
        Field::NamaLgkp => "Nama lengkap",
        Field::JenisKlmin => "Jenis kelamin",
        Field::TmptLhr => "Tempat lahir",
        Field::TglLhr => "Tanggal lahir",
        Field::StatusKawin => "Status perkawinan",
        Field::JenisPkrjn => "Pekerjaan",
        Field::GolDarah => "Golongan darah",
        Field::NamaLgkpIbu => "Nama ibu kandung",
        Field::Alamat => "Alamat",
        Field::NoRt => "RT",
        Field::NoRw => "RW",
        Field::NoProp => "Kode provinsi",
        Field::PropName => "Provinsi",
        Field::NoKab => "Kode kabupaten/kota",
        Field::KabName => "Kabupaten/kota",
        Field::NoKec => "Kode kecamatan",
        Field::KecName => "Kecamatan",
        Field::NoKel => "Kode desa/kelurahan",
        Field::KelName => "Desa/kelurahan",
        other => other.wire_name(),
    }
}

/// A NIK as typed: 16 digits, spaces and dots removed.
pub(crate) fn clean_nik(raw: &str) -> Result<String, &'static str> {
    let nik: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    if nik.len() == 16 && nik.chars().all(|c| c.is_ascii_digit()) {
        Ok(nik)
    } else {
        Err("NIK harus 16 digit angka.")
    }
}
