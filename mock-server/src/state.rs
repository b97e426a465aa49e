//! Shared state of a running mock: settings, clock, institutions, quota counters, the journal
//! writer and the population. Cheap to clone (one `Arc`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDate;
use dukcapil_domain::{mask_nik, Agreement, Nik, Resident, Term};

use crate::clock::Clock;
use crate::residents::{ResidentSource, SourceError};
use crate::settings::{AccessHours, Settings};
use crate::store::{self, Command, Loaded, StoreError, Writer};

/// Persisted-setting key of the clock offset (µs).
pub const CLOCK_KEY: &str = "clock_offset_us";
/// Persisted-setting key prefix of a quota limit set through the admin API.
pub const QUOTA_LIMIT_KEY: &str = "quota_limit:";
/// Persisted-setting key prefix of an institution's admin changes (a JSON object of the PATCH
/// keys given so far, see [`crate::admin::institutions`]).
pub const INSTITUTION_KEY: &str = "institution:";
/// Persisted-setting key prefix of an overlay (canary or modified) resident, stored as JSON.
/// The settings table is the state database's key-value store: one writer, and `reset` empties it.
pub const RESIDENT_KEY: &str = "resident:";

/// An institution as the gateway sees it now: its agreement plus the switches an admin can flip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub agreement: Arc<Agreement>,
    /// `false`: switched off (outcome 16), whatever the term says.
    pub active: bool,
    /// `false`: the institutional user id is deactivated (outcome 17).
    pub user_active: bool,
    /// The registered source address (IP LAN).
    pub ip_user: String,
    /// The gateway password accepted now: the agreement's, unless the admin API rotated it
    /// (a lookup with the old one then gets 03). `reset` restores the agreement's.
    pub password: String,
    pub term: Term,
    /// `None`: unlimited.
    pub quota_per_day: Option<u32>,
    /// WIB hours during which calls are served; `None`: always.
    pub access_hours: Option<AccessHours>,
    /// Test mode: lookups return every element, also those outside the agreement, so a PoC can
    /// check that the application keeps its own whitelist. Never on unless set by the admin API.
    pub extra_elements: bool,
}

impl Institution {
    pub(crate) fn from_agreement(a: &Agreement, settings: &Settings) -> Institution {
        let o = settings
            .institutions
            .get(&a.customer_id)
            .cloned()
            .unwrap_or_default();
        Institution {
            agreement: Arc::new(a.clone()),
            active: o.active.unwrap_or(true),
            user_active: o.user_active.unwrap_or(true),
            ip_user: o.ip_user.unwrap_or_else(|| a.credentials.ip_user.clone()),
            password: a.credentials.password.clone(),
            term: a.term.clone(),
            quota_per_day: o.quota_per_day.or(a.quota_per_day),
            // Validated when the settings were resolved; a bad value here means "always open".
            access_hours: o.access_hours.and_then(|h| h.parse().ok()),
            extra_elements: false,
        }
    }
}

/// The result of counting one call against the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaCheck {
    /// Counted; what remains today (`None`: unlimited).
    Counted { remaining: Option<u32> },
    /// Used up: answer 05, do not count.
    Exhausted,
}

/// A quota snapshot for the admin API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotaStatus {
    pub customer_id: String,
    pub day: NaiveDate,
    pub used: u32,
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
}

#[derive(Debug)]
pub struct Inner {
    pub settings: Settings,
    pub clock: Clock,
    pub admin_token: String,
    pub residents: Arc<dyn ResidentSource>,
    writer: Writer,
    agreements: Vec<Agreement>,
    institutions: RwLock<BTreeMap<String, Institution>>,
    /// Calls counted per (customer id, WIB day). One mutex: check-and-count is atomic, so a burst
    /// against quota Q yields exactly Q counted calls.
    quota: Mutex<HashMap<(String, NaiveDate), u32>>,
    /// Data-balikan intake state (its ledger lives in the state database).
    pub balikan: crate::balikan::Balikan,
    /// Fault rules and their counters (from the settings' `[[faults]]`, changed by the admin API).
    pub faults: crate::faults::FaultEngine,
    /// Residents created or changed through the admin API, consulted before the population
    /// (which stays read-only).
    overlay: RwLock<HashMap<Nik, Resident>>,
    /// Each institution's admin changes so far, as persisted (merged on every PATCH). An async
    /// mutex: held across the commit so two PATCHes cannot persist out of order.
    patches: tokio::sync::Mutex<HashMap<String, serde_json::Map<String, serde_json::Value>>>,
}

#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from settings, agreements, what the state database held, its writer and
    /// the population.
    pub fn new(
        settings: Settings,
        agreements: Vec<Agreement>,
        loaded: Loaded,
        writer: Writer,
        residents: Arc<dyn ResidentSource>,
        admin_token: String,
    ) -> AppState {
        let offset = loaded
            .settings
            .get(CLOCK_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let inner = Inner {
            institutions: RwLock::new(Self::institutions_from(
                &agreements,
                &settings,
                &loaded.settings,
            )),
            clock: Clock::with_offset_us(offset),
            // The rules were validated with the settings; an engine without them is the only
            // other reading.
            faults: crate::faults::FaultEngine::with_rules(
                settings.fault_seed,
                settings.faults.clone(),
            )
            .unwrap_or_default(),
            quota: Mutex::new(loaded.quota_used),
            overlay: RwLock::new(Self::overlay_from(&loaded.settings)),
            patches: tokio::sync::Mutex::new(Self::patches_from(&loaded.settings)),
            settings,
            admin_token,
            residents,
            writer,
            agreements,
            balikan: crate::balikan::Balikan::default(),
        };
        AppState(Arc::new(inner))
    }

    fn institutions_from(
        agreements: &[Agreement],
        settings: &Settings,
        persisted: &HashMap<String, String>,
    ) -> BTreeMap<String, Institution> {
        agreements
            .iter()
            .map(|a| {
                let mut inst = Institution::from_agreement(a, settings);
                if let Some(v) = persisted.get(&format!("{QUOTA_LIMIT_KEY}{}", a.customer_id)) {
                    inst.quota_per_day = v.parse().ok();
                }
                if let Some(v) = persisted.get(&format!("{INSTITUTION_KEY}{}", a.customer_id)) {
                    // Stored only after validation; a value that no longer parses is skipped.
                    match crate::admin::institutions::InstitutionPatch::from_json_text(v) {
                        Ok(patch) => patch.apply(&mut inst),
                        Err(e) => tracing::warn!(
                            customer_id = %a.customer_id,
                            error = %e,
                            "ignoring a stored institution change"
                        ),
                    }
                }
                (a.customer_id.clone(), inst)
            })
            .collect()
    }

    /// The agreements the mock was started with.
    pub fn agreements(&self) -> &[Agreement] {
        &self.agreements
    }

    fn overlay_from(persisted: &HashMap<String, String>) -> HashMap<Nik, Resident> {
        persisted
            .iter()
            .filter(|(k, _)| k.starts_with(RESIDENT_KEY))
            .filter_map(|(k, v)| match serde_json::from_str::<Resident>(v) {
                Ok(r) => Some((r.nik, r)),
                Err(e) => {
                    tracing::warn!(key = %mask_nik(k.trim_start_matches(RESIDENT_KEY)), error = %e, "ignoring a stored overlay resident");
                    None
                }
            })
            .collect()
    }

    /// The one place a NIK is resolved: the admin overlay first, then the population.
    pub fn resident(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        if let Some(r) = self
            .overlay
            .read()
            .map_err(|_| SourceError("overlay map poisoned".into()))?
            .get(&nik)
        {
            return Ok(Some(r.clone()));
        }
        self.residents.get(nik)
    }

    /// Whether `nik` is an overlay resident (created or changed through the admin API).
    pub fn in_overlay(&self, nik: Nik) -> bool {
        self.overlay
            .read()
            .map(|m| m.contains_key(&nik))
            .unwrap_or(false)
    }

    /// Stores a resident in the overlay (persisted first, then visible to the gateway).
    pub async fn put_overlay(&self, r: Resident) -> Result<(), StoreError> {
        let value = serde_json::to_string(&r).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.writer
            .command(Command::SetSetting {
                key: format!("{RESIDENT_KEY}{}", r.nik),
                value: Some(value),
            })
            .await?;
        if let Ok(mut m) = self.overlay.write() {
            m.insert(r.nik, r);
        }
        Ok(())
    }

    fn patches_from(
        persisted: &HashMap<String, String>,
    ) -> HashMap<String, serde_json::Map<String, serde_json::Value>> {
        persisted
            .iter()
            .filter_map(|(k, v)| {
                let cid = k.strip_prefix(INSTITUTION_KEY)?;
                let map = serde_json::from_str(v).ok()?;
                Some((cid.to_string(), map))
            })
            .collect()
    }

    /// Applies a validated institution change: merges it into what was changed before, persists
    /// the result, then changes the institution in memory. `None`: no such institution.
    pub async fn patch_institution(
        &self,
        customer_id: &str,
        delta: &serde_json::Map<String, serde_json::Value>,
        patch: &crate::admin::institutions::InstitutionPatch,
    ) -> Result<Option<Institution>, StoreError> {
        if self.institution(customer_id).is_none() {
            return Ok(None);
        }
        let mut patches = self.patches.lock().await;
        let mut merged = patches.get(customer_id).cloned().unwrap_or_default();
        merged.extend(delta.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.writer
            .command(Command::SetSetting {
                key: format!("{INSTITUTION_KEY}{customer_id}"),
                value: Some(serde_json::Value::Object(merged.clone()).to_string()),
            })
            .await?;
        patches.insert(customer_id.to_string(), merged);
        Ok(self.update_institution(customer_id, |i| patch.apply(i)))
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    pub fn data_dir(&self) -> PathBuf {
        self.settings.data_dir.clone()
    }

    pub fn institution(&self, customer_id: &str) -> Option<Institution> {
        self.institutions.read().ok()?.get(customer_id).cloned()
    }

    pub fn institutions(&self) -> Vec<Institution> {
        self.institutions
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Changes an institution in memory (admin surfaces call this; persistence is theirs).
    pub fn update_institution(
        &self,
        customer_id: &str,
        f: impl FnOnce(&mut Institution),
    ) -> Option<Institution> {
        let mut m = self.institutions.write().ok()?;
        let inst = m.get_mut(customer_id)?;
        f(inst);
        Some(inst.clone())
    }

    /// Counts one call of `customer_id` on `day` unless the quota is used up.
    pub fn count_call(&self, customer_id: &str, day: NaiveDate, limit: Option<u32>) -> QuotaCheck {
        let Ok(mut q) = self.quota.lock() else {
            return QuotaCheck::Exhausted;
        };
        let used = q.entry((customer_id.to_string(), day)).or_insert(0);
        match limit {
            Some(l) if *used >= l => QuotaCheck::Exhausted,
            Some(l) => {
                *used += 1;
                QuotaCheck::Counted {
                    remaining: Some(l - *used),
                }
            }
            None => {
                *used += 1;
                QuotaCheck::Counted { remaining: None }
            }
        }
    }

    pub fn quota_used(&self, customer_id: &str, day: NaiveDate) -> u32 {
        self.quota
            .lock()
            .ok()
            .and_then(|q| q.get(&(customer_id.to_string(), day)).copied())
            .unwrap_or(0)
    }

    pub fn quota_status(&self, customer_id: &str) -> Option<QuotaStatus> {
        let inst = self.institution(customer_id)?;
        let day = crate::clock::wib_day(self.clock.now());
        let used = self.quota_used(customer_id, day);
        Some(QuotaStatus {
            customer_id: customer_id.to_string(),
            day,
            used,
            limit: inst.quota_per_day,
            remaining: inst.quota_per_day.map(|l| l.saturating_sub(used)),
        })
    }

    /// Sets today's usage and/or the daily limit (`Some(None)`: unlimited), persisted.
    pub async fn set_quota(
        &self,
        customer_id: &str,
        used: Option<u32>,
        limit: Option<Option<u32>>,
    ) -> Result<Option<QuotaStatus>, StoreError> {
        if self.institution(customer_id).is_none() {
            return Ok(None);
        }
        let day = crate::clock::wib_day(self.clock.now());
        if let Some(used) = used {
            self.writer
                .command(Command::SetQuotaUsed {
                    customer_id: customer_id.into(),
                    day,
                    used,
                })
                .await?;
            if let Ok(mut q) = self.quota.lock() {
                q.insert((customer_id.to_string(), day), used);
            }
        }
        if let Some(limit) = limit {
            let key = format!("{QUOTA_LIMIT_KEY}{customer_id}");
            let value = Some(limit.map_or_else(|| "unlimited".to_string(), |l| l.to_string()));
            self.writer
                .command(Command::SetSetting { key, value })
                .await?;
            self.update_institution(customer_id, |i| i.quota_per_day = limit);
        }
        Ok(self.quota_status(customer_id))
    }

    /// Persists the clock's current offset.
    pub async fn persist_clock(&self) -> Result<(), StoreError> {
        let value = Some(self.clock.offset_us().to_string());
        self.writer
            .command(Command::SetSetting {
                key: CLOCK_KEY.into(),
                value,
            })
            .await
    }

    /// Back to the state of a fresh start: empty journal and quota, real time, institutions as
    /// configured (the agreements' passwords too), no overlay residents, no fault rules.
    pub async fn reset(&self) -> Result<(), StoreError> {
        // Held so that a concurrent PATCH cannot re-persist a change the reset drops.
        let mut patches = self.patches.lock().await;
        self.writer.command(Command::Reset).await?;
        patches.clear();
        if let Ok(mut q) = self.quota.lock() {
            q.clear();
        }
        self.clock.reset();
        if let Ok(mut m) = self.overlay.write() {
            m.clear();
        }
        if let Ok(mut m) = self.institutions.write() {
            *m = Self::institutions_from(&self.agreements, &self.settings, &HashMap::new());
        }
        // Rules added through `/__admin/faults` go; the settings' `[[faults]]` come back fresh.
        self.faults.reset_to(&self.settings.faults);
        Ok(())
    }

    /// Reads the journal (blocking I/O on the blocking pool).
    pub async fn journal(
        &self,
        filter: store::JournalFilter,
    ) -> Result<Vec<store::JournalRow>, StoreError> {
        let dir = self.data_dir();
        tokio::task::spawn_blocking(move || store::query_journal(&dir, &filter))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }
}
