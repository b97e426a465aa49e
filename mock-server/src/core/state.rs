//! The state of a running mock, as sub-states that each hold one concern (settings, clock,
//! institutions, quota, residents, fault engine, balikan intake, the journal writer, the dataset)
//! and [`Core`], which holds one handle to each and coordinates the changes that span several
//! (a quota change persisted and applied, a reset). Cheap to clone: every part is an `Arc`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use dukcapil_domain::{mask_nik, Agreement, Nik, Resident};
use dukcapil_mock_api::{DatasetInfo, InstitutionPatch, QuotaStatus};

use super::balikan::Intake;
use super::clock::{wib_day, Clock};
use super::faults::FaultEngine;
use super::institutions::{Institution, OwnInstitution};
use super::portal::{Operator, Origin, Portal, OPERATOR_KEY};
use super::quota::{Quota, QuotaCheck};
use super::residents::{ResidentSource, Residents, SourceError};
use super::sessions::Sessions;
use super::tokens::Tokens;
use crate::config::Settings;
use crate::db::{self, Command, Loaded, StoreError, Writer};

/// Persisted-setting key of the clock offset (µs).
const CLOCK_KEY: &str = "clock_offset_us";
/// Persisted-setting key prefix of an institution's own clock offset (µs, on top of the
/// sandbox's).
const INSTITUTION_CLOCK_KEY: &str = "clock_offset_us:";
/// Persisted-setting key prefix of the institution an overlay resident belongs to.
const RESIDENT_OWNER_KEY: &str = "resident_owner:";
/// Persisted-setting key prefix of the SHA-256 (hex) of an institution's issued admin token;
/// resets keep it ([`db::KEPT_SETTING_PREFIX`]).
const TOKEN_KEY: &str = db::KEPT_SETTING_PREFIX;
/// Persisted-setting key prefix of a quota limit set through the admin API.
const QUOTA_LIMIT_KEY: &str = "quota_limit:";
/// Persisted-setting key prefix of an institution's admin changes (a JSON object of the PATCH
/// keys given so far).
const INSTITUTION_KEY: &str = "institution:";
/// The key of a rotated password's Argon2 hash in an institution's stored change.
const PASSWORD_HASH_KEY: &str = "password_hash";
/// Persisted-setting key prefix of an institution added through the admin API ([`Added`], as
/// JSON); resets keep it (it is configuration, like the tokens).
pub(crate) const ADDED_KEY: &str = db::ADDED_INSTITUTION_PREFIX;
/// Persisted-setting key prefix marking a configured institution removed through the admin
/// API; resets keep it.
pub(crate) const REMOVED_KEY: &str = db::REMOVED_INSTITUTION_PREFIX;
/// How many institutions one mock holds at most (a sandbox of a regency has tens; the scale
/// benchmark runs 1,000): the admin API cannot grow memory without bound.
pub(crate) const MAX_INSTITUTIONS: usize = 10_000;
/// Persisted-setting key prefix of an overlay (canary or modified) resident, stored as JSON.
/// The settings table is the state database's key-value store: one writer, and `reset` empties it.
const RESIDENT_KEY: &str = "resident:";

/// An institution added through the admin API, as the state file keeps it: what
/// [`OwnInstitution`] needs to derive its agreement again, its password only as an Argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Added {
    pub agreement: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub password_hash: String,
    pub balikan_token: String,
    pub methods: Option<BTreeMap<String, dukcapil_domain::Service>>,
    /// Its switches from the start (PATCH keys), applied again by every reset.
    pub settings: serde_json::Map<String, serde_json::Value>,
}

impl Added {
    /// Its agreement under profile `self.agreement` of `profiles`; the password is empty (only
    /// its hash is known, see [`Institution::agreement_password_hash`]).
    fn agreement(
        &self,
        cid: &str,
        profiles: &[Agreement],
        in_force: &[Agreement],
    ) -> Result<Agreement, String> {
        let mut a = OwnInstitution {
            profile: &self.agreement,
            name: self.name.as_deref(),
            user_id: self.user_id.as_deref(),
            password: Some(""),
            balikan_token: Some(&self.balikan_token),
            ip_user: None,
        }
        .derive(cid, profiles, in_force)?;
        a.credentials.password = String::new();
        Ok(a)
    }
}

/// An institution just added, with the credentials to hand out.
#[derive(Debug, Clone)]
pub(crate) struct NewInstitution {
    pub institution: Institution,
    /// The gateway password the mock chose (shown once).
    pub password: Option<String>,
    pub balikan_token: String,
}

/// Why an institution is not added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddRefused {
    /// An institution of that customer id exists.
    Exists(String),
    /// The body does not describe an institution that can be added.
    Invalid(String),
}

/// A random secret: `prefix` then 128 random bits in hex.
fn random_secret(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The institutions in force and the agreement of each.
#[derive(Debug, Clone, Default)]
struct Roster {
    /// Configured ones not removed, then those added through the admin API, in that order.
    agreements: Vec<Agreement>,
    /// The added ones' definitions, by customer id.
    added: HashMap<String, Added>,
}

/// The institutions: as configured, as changed through the admin API since.
#[derive(Debug)]
pub(crate) struct Institutions {
    /// The agreements the mock was started with (embedded, files, settings blocks): the
    /// profiles an added institution may be under, and what a removed one comes back as.
    configured: Vec<Agreement>,
    roster: RwLock<Roster>,
    /// Shared, so a request's look at its institution is one reference count, not a copy.
    map: RwLock<BTreeMap<String, Arc<Institution>>>,
    /// Each institution's admin changes so far, as persisted (merged on every PATCH). An async
    /// mutex: held across the commit so two PATCHes cannot persist out of order; adding and
    /// removing institutions hold it too.
    patches: tokio::sync::Mutex<HashMap<String, serde_json::Map<String, serde_json::Value>>>,
    /// Bumped whenever an institution is added or removed (the fault layer's directory follows).
    generation: std::sync::atomic::AtomicU64,
}

impl Institutions {
    /// The institutions in force after what `persisted` says was added and removed.
    fn roster(configured: &[Agreement], persisted: &HashMap<String, String>) -> Roster {
        let mut agreements: Vec<Agreement> = configured
            .iter()
            .filter(|a| !persisted.contains_key(&format!("{REMOVED_KEY}{}", a.customer_id)))
            .cloned()
            .collect();
        let mut added = HashMap::new();
        let mut defs: Vec<(&str, &String)> = persisted
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(ADDED_KEY)?, v)))
            .collect();
        defs.sort();
        for (cid, v) in defs {
            let def = match serde_json::from_str::<Added>(v) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(customer_id = %cid, error = %e, "ignoring a stored added institution");
                    continue;
                }
            };
            match def.agreement(cid, configured, &agreements) {
                Ok(a) => {
                    agreements.push(a);
                    added.insert(cid.to_string(), def);
                }
                // E.g. its profile is no longer among the agreements the mock starts with.
                Err(e) => {
                    tracing::warn!(customer_id = %cid, error = %e, "ignoring a stored added institution")
                }
            }
        }
        Roster { agreements, added }
    }

    fn build(
        roster: &Roster,
        settings: &Settings,
        persisted: &HashMap<String, String>,
    ) -> BTreeMap<String, Arc<Institution>> {
        roster
            .agreements
            .iter()
            .map(|a| {
                let inst =
                    Self::build_one(a, roster.added.get(&a.customer_id), settings, persisted);
                (a.customer_id.clone(), Arc::new(inst))
            })
            .collect()
    }

    /// One institution as configured (or as added), with the admin changes `persisted` holds
    /// for it.
    fn build_one(
        a: &Agreement,
        added: Option<&Added>,
        settings: &Settings,
        persisted: &HashMap<String, String>,
    ) -> Institution {
        let mut inst = Institution::from_agreement(a, settings);
        if let Some(def) = added {
            inst.agreement_password_hash = Some(def.password_hash.clone());
            inst.password_hash = Some(def.password_hash.clone());
            if let Some(m) = &def.methods {
                inst.methods = Arc::new(super::institutions::Methods::new(
                    m.iter().map(|(n, s)| (n.as_str(), *s)),
                ));
            }
            // Validated when added.
            if let Ok(patch) = InstitutionPatch::from_map(&def.settings) {
                inst.apply(&patch);
            }
        }
        if let Some(v) = persisted.get(&format!("{INSTITUTION_CLOCK_KEY}{}", a.customer_id)) {
            inst.clock_offset_us = v.parse().unwrap_or(0);
        }
        if let Some(v) = persisted.get(&format!("{QUOTA_LIMIT_KEY}{}", a.customer_id)) {
            inst.quota_per_day = v.parse().ok();
        }
        if let Some(v) = persisted.get(&format!("{INSTITUTION_KEY}{}", a.customer_id)) {
            // A rotated password is stored as its hash, beside the patch's own keys.
            let mut map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(v).unwrap_or_default();
            let hash = map
                .remove(PASSWORD_HASH_KEY)
                .and_then(|h| h.as_str().map(str::to_string));
            // Stored only after validation; a value that no longer parses is skipped.
            match InstitutionPatch::from_map(&map) {
                Ok(patch) => {
                    inst.apply(&patch);
                    if let Some(h) = hash {
                        inst.password = String::new();
                        inst.password_hash = Some(h);
                    }
                }
                Err(e) => tracing::warn!(
                    customer_id = %a.customer_id,
                    error = %e,
                    "ignoring a stored institution change"
                ),
            }
        }
        inst
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

    /// The agreements of the institutions in force.
    pub(crate) fn agreements(&self) -> Vec<Agreement> {
        self.roster
            .read()
            .map(|r| r.agreements.clone())
            .unwrap_or_default()
    }

    /// Bumped whenever an institution is added or removed.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// One institution as it is now.
    pub(crate) fn get(&self, customer_id: &str) -> Option<Arc<Institution>> {
        self.map.read().ok()?.get(customer_id).cloned()
    }

    /// Every institution, by customer id.
    pub(crate) fn all(&self) -> Vec<Institution> {
        self.map
            .read()
            .map(|m| m.values().map(|i| Institution::clone(i)).collect())
            .unwrap_or_default()
    }

    /// The definition of an institution added through the admin API.
    fn added(&self, customer_id: &str) -> Option<Added> {
        self.roster.read().ok()?.added.get(customer_id).cloned()
    }

    /// Changes an institution in memory (persistence is the caller's).
    pub(crate) fn update(
        &self,
        customer_id: &str,
        f: impl FnOnce(&mut Institution),
    ) -> Option<Institution> {
        let mut m = self.map.write().ok()?;
        let inst = Arc::make_mut(m.get_mut(customer_id)?);
        f(inst);
        Some(inst.clone())
    }
}

/// The shared state: one handle to each sub-state.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub(crate) settings: Arc<Settings>,
    pub(crate) clock: Arc<Clock>,
    /// The admin tokens: the sandbox operator's and the institutions' own.
    pub(crate) tokens: Arc<Tokens>,
    pub(crate) institutions: Arc<Institutions>,
    pub(crate) quota: Arc<Quota>,
    pub(crate) residents: Arc<Residents>,
    /// Data-balikan intake state (its ledger lives in the state database).
    pub(crate) intake: Arc<Intake>,
    /// Fault rules and their counters (from the settings' `[[faults]]`, changed by the admin API).
    pub(crate) faults: FaultEngine,
    pub(crate) writer: Writer,
    /// The population served.
    pub(crate) dataset: Arc<DatasetInfo>,
    /// Logged-in browsers of the admin dashboard (`/__admin/ui`).
    pub(crate) admin_sessions: Arc<Sessions>,
    /// The Web Portal's accounts, sessions and lock-outs.
    pub(crate) portal: Arc<Portal>,
}

impl Core {
    /// Builds the state from settings, agreements, what the state database held, its writer and
    /// the population.
    pub(crate) fn new(
        settings: Settings,
        agreements: Vec<Agreement>,
        loaded: Loaded,
        writer: Writer,
        source: Arc<dyn ResidentSource>,
        dataset: DatasetInfo,
        admin_token: String,
    ) -> Core {
        let offset = loaded
            .settings
            .get(CLOCK_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let roster = Institutions::roster(&agreements, &loaded.settings);
        let institutions = Institutions {
            map: RwLock::new(Institutions::build(&roster, &settings, &loaded.settings)),
            patches: tokio::sync::Mutex::new(Institutions::patches_from(&loaded.settings)),
            configured: agreements,
            roster: RwLock::new(roster),
            generation: Default::default(),
        };
        let intake = Arc::new(Intake::new(&settings.limits));
        let portal = Arc::new(Portal::new(
            &settings.portal,
            &settings.portal_operators,
            &loaded.settings,
        ));
        let tokens = Tokens::new(
            admin_token,
            settings
                .institutions
                .iter()
                // A removed institution's settings token opens nothing.
                .filter(|(cid, _)| institutions.get(cid).is_some())
                .filter_map(|(cid, o)| Some((cid.as_str(), o.admin_token.as_deref()?))),
            loaded
                .settings
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(TOKEN_KEY)?.to_string(), v.clone())))
                .filter(|(cid, _)| institutions.get(cid).is_some()),
        );
        Core {
            portal,
            clock: Arc::new(Clock::with_offset_us(offset)),
            // The rules were validated with the settings; an engine without them is the only
            // other reading.
            faults: FaultEngine::with_rules(settings.fault_seed, settings.faults.clone())
                .unwrap_or_default(),
            quota: Arc::new(Quota::with_counts(loaded.quota_used)),
            residents: Arc::new(Residents::new(
                source,
                Self::overlay_from(&loaded.settings),
                Self::owners_from(&loaded.settings),
            )),
            institutions: Arc::new(institutions),
            settings: Arc::new(settings),
            tokens: Arc::new(tokens),
            writer,
            intake,
            dataset: Arc::new(dataset),
            admin_sessions: Arc::new(Sessions::default()),
        }
    }

    /// The agreements of the institutions in force.
    pub(crate) fn agreements(&self) -> Vec<Agreement> {
        self.institutions.agreements()
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

    fn owners_from(persisted: &HashMap<String, String>) -> HashMap<Nik, String> {
        persisted
            .iter()
            .filter_map(|(k, v)| {
                let nik = k.strip_prefix(RESIDENT_OWNER_KEY)?.parse().ok()?;
                Some((nik, v.clone()))
            })
            .collect()
    }

    /// The one place a NIK is resolved: the admin overlay first, then the population.
    pub(crate) fn resident(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        self.residents.resident(nik)
    }

    /// Whether `nik` is an overlay resident (created or changed through the admin API).
    pub(crate) fn in_overlay(&self, nik: Nik) -> bool {
        self.residents.in_overlay(nik)
    }

    /// Stores a resident in the overlay (persisted first, then visible to the gateway), as
    /// `owner`'s when given (a resident keeps the owner it has).
    pub(crate) async fn put_overlay(
        &self,
        r: Resident,
        owner: Option<&str>,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_string(&r)
            .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?;
        let nik = r.nik;
        let owner = match self.residents.owner(nik) {
            Some(_) => None,
            None => owner,
        };
        let mut writes = vec![Command::SetSetting {
            key: format!("{RESIDENT_KEY}{nik}"),
            value: Some(value),
        }];
        if let Some(cid) = owner {
            writes.push(Command::SetSetting {
                key: format!("{RESIDENT_OWNER_KEY}{nik}"),
                value: Some(cid.to_string()),
            });
        }
        self.writer.command(Command::Batch(writes)).await?;
        self.residents.insert_overlay(r);
        if let Some(cid) = owner {
            self.residents.set_owner(nik, cid);
        }
        Ok(())
    }

    /// The institution an overlay resident belongs to, if any.
    pub(crate) fn resident_owner(&self, nik: Nik) -> Option<String> {
        self.residents.owner(nik)
    }

    /// Applies a validated institution change: merges it into what was changed before, persists
    /// the result, then changes the institution in memory. `None`: no such institution.
    pub(crate) async fn patch_institution(
        &self,
        customer_id: &str,
        delta: &serde_json::Map<String, serde_json::Value>,
        patch: &InstitutionPatch,
        quota_limit: Option<Option<u32>>,
    ) -> Result<Option<Institution>, StoreError> {
        if self.institution(customer_id).is_none() {
            return Ok(None);
        }
        let mut patches = self.institutions.patches.lock().await;
        let mut merged = patches.get(customer_id).cloned().unwrap_or_default();
        merged.extend(delta.iter().map(|(k, v)| (k.clone(), v.clone())));
        // A rotated password reaches the state file only as its Argon2 hash.
        if let Some(pw) = merged.remove("password") {
            merged.remove(PASSWORD_HASH_KEY);
            let agreement_pw = self
                .institution(customer_id)
                .map(|i| i.agreement.credentials.password.clone());
            // The agreement's own password is no rotation: nothing to store.
            if let Some(text) = pw.as_str().filter(|t| Some(*t) != agreement_pw.as_deref()) {
                let hash = super::institutions::hash_password(text)
                    .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?;
                merged.insert(PASSWORD_HASH_KEY.into(), serde_json::Value::String(hash));
            }
        }
        let mut writes = vec![Command::SetSetting {
            key: format!("{INSTITUTION_KEY}{customer_id}"),
            value: Some(serde_json::Value::Object(merged.clone()).to_string()),
        }];
        if let Some(limit) = quota_limit {
            writes.push(Command::SetSetting {
                key: format!("{QUOTA_LIMIT_KEY}{customer_id}"),
                value: Some(limit.map_or_else(|| "unlimited".to_string(), |l| l.to_string())),
            });
        }
        // Every key of the PATCH in one transaction: all applied or none, also across a crash.
        self.writer.command(Command::Batch(writes)).await?;
        patches.insert(customer_id.to_string(), merged);
        Ok(self.institutions.update(customer_id, |i| {
            i.apply(patch);
            if let Some(limit) = quota_limit {
                i.quota_per_day = limit;
            }
        }))
    }

    /// A lookup matched the stored hash of `customer_id`'s rotated password: keep the text in
    /// memory, so the next lookups compare it instead of hashing again.
    pub(crate) fn remember_password(&self, customer_id: &str, password: &str) {
        self.institutions.update(customer_id, |i| {
            i.password = password.to_string();
        });
    }

    /// The journal writer.
    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Where the state database and the population live.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.settings.data_dir.clone()
    }

    /// One institution as it is now.
    pub(crate) fn institution(&self, customer_id: &str) -> Option<Arc<Institution>> {
        self.institutions.get(customer_id)
    }

    /// Every institution, by customer id.
    pub(crate) fn institutions(&self) -> Vec<Institution> {
        self.institutions.all()
    }

    /// Counts one call of `customer_id` on `day` unless the quota is used up.
    pub(crate) fn count_call(
        &self,
        customer_id: &str,
        day: chrono::NaiveDate,
        limit: Option<u32>,
    ) -> QuotaCheck {
        self.quota.count_call(customer_id, day, limit)
    }

    /// Today's quota of an institution.
    pub(crate) fn quota_status(&self, customer_id: &str) -> Option<QuotaStatus> {
        let inst = self.institution(customer_id)?;
        let day = wib_day(self.clock.now_plus(inst.clock_offset_us));
        let used = self.quota.used(customer_id, day);
        Some(QuotaStatus {
            customer_id: customer_id.to_string(),
            day,
            used,
            limit: inst.quota_per_day,
            remaining: inst.quota_per_day.map(|l| l.saturating_sub(used)),
        })
    }

    /// Sets today's usage and/or the daily limit (`Some(None)`: unlimited), persisted.
    pub(crate) async fn set_quota(
        &self,
        customer_id: &str,
        used: Option<u32>,
        limit: Option<Option<u32>>,
    ) -> Result<Option<QuotaStatus>, StoreError> {
        let Some(inst) = self.institution(customer_id) else {
            return Ok(None);
        };
        let day = wib_day(self.clock.now_plus(inst.clock_offset_us));
        if let Some(used) = used {
            // Memory and the writer's queue change under one lock, in a new epoch: the writer
            // skips counts of earlier epochs that reach it after the set, as memory did.
            let queued = self.quota.set_then(customer_id, day, used, |epoch| {
                self.writer.queue(Command::SetQuotaUsed {
                    customer_id: customer_id.into(),
                    day,
                    used,
                    epoch,
                })
            });
            if let Some(queued) = queued {
                self.writer.acked(queued?).await?;
            }
        }
        if let Some(limit) = limit {
            let key = format!("{QUOTA_LIMIT_KEY}{customer_id}");
            let value = Some(limit.map_or_else(|| "unlimited".to_string(), |l| l.to_string()));
            self.writer
                .command(Command::SetSetting { key, value })
                .await?;
            self.institutions
                .update(customer_id, |i| i.quota_per_day = limit);
        }
        Ok(self.quota_status(customer_id))
    }

    /// Persists the clock's current offset.
    pub(crate) async fn persist_clock(&self) -> Result<(), StoreError> {
        let value = Some(self.clock.offset_us().to_string());
        self.writer
            .command(Command::SetSetting {
                key: CLOCK_KEY.into(),
                value,
            })
            .await
    }

    /// The clock of `customer_id` (the sandbox's clock plus its own offset); the sandbox's for
    /// `None` or an unknown customer id.
    pub(crate) fn now_for(&self, customer_id: Option<&str>) -> chrono::DateTime<chrono::Utc> {
        let extra = customer_id
            .and_then(|c| self.institution(c))
            .map_or(0, |i| i.clock_offset_us);
        self.clock.now_plus(extra)
    }

    /// Sets the own clock offset of `customer_id` (µs on top of the sandbox's), persisted.
    /// `None`: no such institution.
    pub(crate) async fn set_institution_clock(
        &self,
        customer_id: &str,
        offset_us: i64,
    ) -> Result<Option<Institution>, StoreError> {
        if self.institution(customer_id).is_none() {
            return Ok(None);
        }
        self.writer
            .command(Command::SetSetting {
                key: format!("{INSTITUTION_CLOCK_KEY}{customer_id}"),
                value: (offset_us != 0).then(|| offset_us.to_string()),
            })
            .await?;
        Ok(self
            .institutions
            .update(customer_id, |i| i.clock_offset_us = offset_us))
    }

    /// Issues a new admin token of `customer_id` (the one issued before retires): its hash is
    /// persisted, the token itself returned this once. `None`: no such institution.
    pub(crate) async fn issue_token(
        &self,
        customer_id: &str,
    ) -> Result<Option<String>, StoreError> {
        if self.institution(customer_id).is_none() {
            return Ok(None);
        }
        let token = hex::encode(rand::random::<[u8; 16]>());
        let hash = super::tokens::token_hash(&token);
        self.writer
            .command(Command::SetSetting {
                key: format!("{TOKEN_KEY}{customer_id}"),
                value: Some(hex::encode(hash)),
            })
            .await?;
        self.tokens.issue(customer_id, hash);
        Ok(Some(token))
    }

    /// One institution back to a fresh start, the others untouched: its journal rows, quota
    /// counts, lookups and ledger entries go; its switches, quota limit, password and clock
    /// are as configured again; its canary residents (those its token or scope created or
    /// changed) go; its fault rules (rules naming it) are the settings' again; its Web Portal
    /// accounts are the settings file's again, without sessions, locks or quota count. Rules
    /// without an institution, population residents and issued tokens stay. `false`: no such
    /// institution.
    pub(crate) async fn reset_institution(&self, customer_id: &str) -> Result<bool, StoreError> {
        let mut patches = self.institutions.patches.lock().await;
        let Some(agreement) = self
            .agreements()
            .into_iter()
            .find(|a| a.customer_id == customer_id)
        else {
            return Ok(false);
        };
        let residents = self.residents.owned_by(customer_id);
        let mut keys = vec![
            format!("{QUOTA_LIMIT_KEY}{customer_id}"),
            format!("{INSTITUTION_KEY}{customer_id}"),
            format!("{INSTITUTION_CLOCK_KEY}{customer_id}"),
        ];
        for nik in &residents {
            keys.push(format!("{RESIDENT_KEY}{nik}"));
            keys.push(format!("{RESIDENT_OWNER_KEY}{nik}"));
        }
        // Its Web Portal: accounts as configured, no sessions or locks, its own quota count.
        let _portal_edits = self.portal.edits.lock().await;
        keys.extend(self.portal.reset_institution(customer_id));
        let portal_quota = super::portal::quota_key(customer_id);
        self.writer
            .command(Command::ResetInstitution {
                customer_id: customer_id.to_string(),
                quota_ids: vec![portal_quota.clone()],
                keys,
            })
            .await?;
        patches.remove(customer_id);
        self.quota.clear_institution(customer_id);
        self.quota.clear_institution(&portal_quota);
        self.residents.remove_overlay(&residents);
        let added = self.institutions.added(customer_id);
        let fresh =
            Institutions::build_one(&agreement, added.as_ref(), &self.settings, &HashMap::new());
        if let Ok(mut m) = self.institutions.map.write() {
            m.insert(customer_id.to_string(), Arc::new(fresh));
        }
        self.faults
            .reset_institution_to(customer_id, &self.settings.faults);
        Ok(true)
    }

    /// Adds an institution (`POST /__admin/institutions`), persisted first: a new one under an
    /// agreement profile, or (without `agreement`) a configured one that was removed, back as
    /// configured. Resets keep it; `remove_institution` undoes it.
    pub(crate) async fn add_institution(
        &self,
        body: dukcapil_mock_api::InstitutionCreate,
    ) -> Result<Result<NewInstitution, AddRefused>, StoreError> {
        let mut patches = self.institutions.patches.lock().await;
        let cid = body.customer_id.clone();
        let in_force = self.agreements();
        if in_force.iter().any(|a| a.customer_id == cid) {
            return Ok(Err(AddRefused::Exists(cid)));
        }
        if in_force.len() >= MAX_INSTITUTIONS {
            return Ok(Err(AddRefused::Invalid(format!(
                "this mock holds at most {MAX_INSTITUTIONS} institutions"
            ))));
        }
        let Some(profile) = body.agreement.clone() else {
            return self.restore_institution(&body, patches).await;
        };
        let generated = body.password.is_none().then(|| random_secret(""));
        let password = body
            .password
            .clone()
            .or(generated.clone())
            .unwrap_or_default();
        let balikan_token = body
            .balikan_token
            .clone()
            .unwrap_or_else(|| random_secret(&format!("balikan-{cid}-")));
        let pw = password.clone();
        let password_hash =
            tokio::task::spawn_blocking(move || super::institutions::hash_password(&pw))
                .await
                .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?
                .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?;
        let settings = match serde_json::to_value(&body.settings) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let def = Added {
            agreement: profile,
            name: body.name.clone(),
            user_id: body.user_id.clone(),
            password_hash,
            balikan_token: balikan_token.clone(),
            methods: body.methods.clone(),
            settings,
        };
        let agreement = match def.agreement(&cid, &self.institutions.configured, &in_force) {
            Ok(a) => a,
            Err(e) => return Ok(Err(AddRefused::Invalid(e))),
        };
        let value = serde_json::to_string(&def)
            .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?;
        // Whatever an earlier institution of this id left of its switches goes with it.
        let mut writes = vec![Command::SetSetting {
            key: format!("{ADDED_KEY}{cid}"),
            value: Some(value),
        }];
        writes.extend(
            self.institution_keys(&cid)
                .into_iter()
                .map(|key| Command::SetSetting { key, value: None }),
        );
        self.writer.command(Command::Batch(writes)).await?;
        let mut inst =
            Institutions::build_one(&agreement, Some(&def), &self.settings, &HashMap::new());
        // The text is known until the next start; lookups need not hash meanwhile.
        if inst.password_hash == inst.agreement_password_hash {
            inst.password = password;
        }
        patches.remove(&cid);
        if let Ok(mut r) = self.institutions.roster.write() {
            r.agreements.push(agreement);
            r.added.insert(cid.clone(), def);
        }
        if let Ok(mut m) = self.institutions.map.write() {
            m.insert(cid.clone(), Arc::new(inst.clone()));
        }
        self.institutions.changed();
        Ok(Ok(NewInstitution {
            institution: inst,
            password: generated,
            balikan_token,
        }))
    }

    /// A configured institution that was removed, back as configured (its settings token too).
    async fn restore_institution(
        &self,
        body: &dukcapil_mock_api::InstitutionCreate,
        _patches: tokio::sync::MutexGuard<
            '_,
            HashMap<String, serde_json::Map<String, serde_json::Value>>,
        >,
    ) -> Result<Result<NewInstitution, AddRefused>, StoreError> {
        let cid = &body.customer_id;
        let Some(agreement) = self
            .institutions
            .configured
            .iter()
            .find(|a| &a.customer_id == cid)
            .cloned()
        else {
            return Ok(Err(AddRefused::Invalid(format!(
                "`agreement` is required: `{cid}` is not an institution the mock was started with (give the agreement profile it is under)"
            ))));
        };
        let bare = dukcapil_mock_api::InstitutionCreate {
            customer_id: cid.clone(),
            ..Default::default()
        };
        if body != &bare {
            return Ok(Err(AddRefused::Invalid(format!(
                "`{cid}` comes back as configured: give only `customer_id` (change it afterwards with PATCH), or `agreement` for a new institution under a profile"
            ))));
        }
        self.writer
            .command(Command::SetSetting {
                key: format!("{REMOVED_KEY}{cid}"),
                value: None,
            })
            .await?;
        let inst = Institutions::build_one(&agreement, None, &self.settings, &HashMap::new());
        if let Ok(mut r) = self.institutions.roster.write() {
            r.agreements.push(agreement.clone());
        }
        if let Ok(mut m) = self.institutions.map.write() {
            m.insert(cid.clone(), Arc::new(inst.clone()));
        }
        if let Some(token) = self
            .settings
            .institutions
            .get(cid)
            .and_then(|o| o.admin_token.as_deref())
        {
            self.tokens.configure(cid, token);
        }
        self.portal.reset_institution(cid);
        self.faults.reset_institution_to(cid, &self.settings.faults);
        self.institutions.changed();
        Ok(Ok(NewInstitution {
            institution: inst,
            password: None,
            balikan_token: agreement.credentials.balikan_token.clone(),
        }))
    }

    /// The persisted settings of an institution's switches, quota limit, clock, issued token
    /// and Web Portal accounts (not its journal, quota counts or ledger).
    fn institution_keys(&self, cid: &str) -> Vec<String> {
        vec![
            format!("{QUOTA_LIMIT_KEY}{cid}"),
            format!("{INSTITUTION_KEY}{cid}"),
            format!("{INSTITUTION_CLOCK_KEY}{cid}"),
            format!("{TOKEN_KEY}{cid}"),
        ]
    }

    /// Removes an institution (`DELETE /__admin/institutions/{id}`), persisted first: the
    /// gateway no longer knows it (outcome 03), its tokens, Web Portal accounts and sessions
    /// and its fault rules go. What it did stays: journal rows, quota counts, lookups, balikan
    /// ledger and the canary residents it made. `false`: no such institution.
    pub(crate) async fn remove_institution(&self, cid: &str) -> Result<bool, StoreError> {
        let mut patches = self.institutions.patches.lock().await;
        if self.institution(cid).is_none() {
            return Ok(false);
        }
        let _portal_edits = self.portal.edits.lock().await;
        let mut keys = self.institution_keys(cid);
        keys.extend(self.portal.remove_institution(cid));
        let mut writes: Vec<Command> = keys
            .into_iter()
            .map(|key| Command::SetSetting { key, value: None })
            .collect();
        let configured = self
            .institutions
            .configured
            .iter()
            .any(|a| a.customer_id == cid);
        writes.push(Command::SetSetting {
            key: format!("{ADDED_KEY}{cid}"),
            value: None,
        });
        if configured {
            // A configured institution stays removed across restarts: a marker.
            writes.push(Command::SetSetting {
                key: format!("{REMOVED_KEY}{cid}"),
                value: Some("true".into()),
            });
        }
        self.writer.command(Command::Batch(writes)).await?;
        patches.remove(cid);
        if let Ok(mut r) = self.institutions.roster.write() {
            r.agreements.retain(|a| a.customer_id != cid);
            r.added.remove(cid);
        }
        if let Ok(mut m) = self.institutions.map.write() {
            m.remove(cid);
        }
        self.tokens.revoke(cid);
        self.faults.clear_institution(cid);
        self.institutions.changed();
        Ok(true)
    }

    /// Back to the state of a fresh start: empty journal and quota, real time, institutions as
    /// configured (the agreements' passwords too), no overlay residents, no fault rules.
    /// Issued institution tokens stay.
    pub(crate) async fn reset(&self) -> Result<(), StoreError> {
        // Held so that a concurrent PATCH cannot re-persist a change the reset drops.
        let mut patches = self.institutions.patches.lock().await;
        self.writer.command(Command::Reset).await?;
        patches.clear();
        self.quota.clear();
        self.clock.reset();
        self.residents.clear_overlay();
        if let Ok(mut m) = self.institutions.map.write() {
            if let Ok(roster) = self.institutions.roster.read() {
                *m = Institutions::build(&roster, &self.settings, &HashMap::new());
            }
        }
        // Rules added through `/__admin/faults` go; the settings' `[[faults]]` come back fresh.
        self.faults.reset_to(&self.settings.faults);
        self.portal.reset();
        Ok(())
    }

    /// Adds a Web Portal operator (the password hashed, persisted first). `Ok(false)`: an
    /// account of that name exists.
    pub(crate) async fn add_operator(
        &self,
        customer_id: &str,
        username: &str,
        password: &str,
    ) -> Result<bool, StoreError> {
        let _edits = self.portal.edits.lock().await;
        if self.portal.operator(customer_id, username).is_some() {
            return Ok(false);
        }
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || super::institutions::hash_password(&pw))
            .await
            .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?
            .map_err(|e| StoreError::encode(&self.settings.data_dir, e))?;
        self.writer
            .command(Command::SetSetting {
                key: format!("{OPERATOR_KEY}{customer_id}/{username}"),
                value: Some(serde_json::json!({ "hash": hash }).to_string()),
            })
            .await?;
        self.portal.insert(Operator {
            customer_id: customer_id.to_string(),
            username: username.to_string(),
            hash,
            origin: Origin::Admin,
        });
        Ok(true)
    }

    /// Removes a Web Portal operator and ends its sessions (persisted first). `Ok(false)`: no
    /// such account.
    pub(crate) async fn remove_operator(
        &self,
        customer_id: &str,
        username: &str,
    ) -> Result<bool, StoreError> {
        let _edits = self.portal.edits.lock().await;
        let Some(op) = self.portal.operator(customer_id, username) else {
            return Ok(false);
        };
        // A settings-file account stays removed across restarts: a marker, not just no row.
        let value = match op.origin {
            Origin::Settings => Some(serde_json::json!({ "deleted": true }).to_string()),
            Origin::Admin => None,
        };
        self.writer
            .command(Command::SetSetting {
                key: format!("{OPERATOR_KEY}{customer_id}/{username}"),
                value,
            })
            .await?;
        Ok(self.portal.remove(customer_id, username))
    }

    /// Today's Web Portal searches of an institution: (used, limit).
    pub(crate) fn portal_quota(&self, customer_id: &str) -> Option<(u32, Option<u32>)> {
        let inst = self.institution(customer_id)?;
        let day = wib_day(self.clock.now_plus(inst.clock_offset_us));
        let used = self.quota.used(&super::portal::quota_key(customer_id), day);
        Some((used, inst.portal_quota(&self.settings)))
    }

    /// Reads the journal (blocking I/O on the blocking pool).
    pub(crate) async fn journal(
        &self,
        filter: db::JournalFilter,
    ) -> Result<Vec<dukcapil_mock_api::JournalRow>, StoreError> {
        let dir = self.data_dir();
        db::blocking(&dir.clone(), move || db::query_journal(&dir, &filter)).await
    }
}
