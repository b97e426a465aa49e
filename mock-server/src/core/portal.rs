//! The mock Web Portal's rules without HTTP: operator accounts per institution (from the
//! settings file, added and removed through the admin API, stored only as Argon2id hashes),
//! sessions with their CSRF token, and the lock-out after repeated failed logins, all on the
//! mock's clock (each institution's own: the sandbox's plus its offset). The quota key of an institution's portal searches is [`quota_key`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use crate::config::{PortalOperatorEntry, PortalSettings};

/// Persisted-setting key prefix of an operator changed through the admin API
/// (`portal_operator:<customer_id>/<username>` → `{"hash": PHC}` or `{"deleted": true}`).
pub(crate) const OPERATOR_KEY: &str = "portal_operator:";

/// The quota key of an institution's portal searches, apart from its web-service quota.
pub(crate) fn quota_key(customer_id: &str) -> String {
    format!("PORTAL:{customer_id}")
}

/// Where an account comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `[[portal_operators]]` of the settings file.
    Settings,
    /// `POST /__admin/portal/operators`.
    Admin,
}

impl Origin {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Origin::Settings => "settings",
            Origin::Admin => "admin",
        }
    }
}

/// One operator account: an Argon2id PHC string, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operator {
    pub customer_id: String,
    pub username: String,
    pub hash: String,
    pub origin: Origin,
}

/// A logged-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub customer_id: String,
    pub username: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub expires: DateTime<Utc>,
}

/// What a login attempt may go on to (before the password is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Open,
    /// Locked until then (HTTP 429).
    Locked(DateTime<Utc>),
}

type Key = (String, String);

/// Most accounts whose recent failures are remembered; past it the oldest are forgotten
/// (a client guessing usernames cannot grow the map without bound).
const MAX_TRACKED: usize = 10_000;
/// Most sessions at once; past it the one expiring first goes.
const MAX_SESSIONS: usize = 10_000;

/// Accounts, sessions and failures of the portal.
#[derive(Debug)]
pub(crate) struct Portal {
    settings: PortalSettings,
    /// The settings file's accounts, hashed at start (what a reset goes back to).
    configured: BTreeMap<Key, Operator>,
    accounts: RwLock<BTreeMap<Key, Operator>>,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<Key, Vec<DateTime<Utc>>>>,
    locked: Mutex<HashMap<Key, DateTime<Utc>>>,
    /// Held across an admin change's commit, so two changes cannot persist out of order.
    pub(crate) edits: tokio::sync::Mutex<()>,
}

fn key(customer_id: &str, username: &str) -> Key {
    (customer_id.to_string(), username.to_string())
}

/// A random token of 32 bytes, hex (session ids, CSRF tokens).
pub(crate) fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Portal {
    /// The settings file's accounts (their passwords hashed now), then the admin API's changes
    /// as persisted (`persisted`: the state database's settings table).
    pub(crate) fn new(
        settings: &PortalSettings,
        entries: &[PortalOperatorEntry],
        persisted: &HashMap<String, String>,
    ) -> Portal {
        let configured: BTreeMap<Key, Operator> = entries
            .iter()
            .filter_map(|e| {
                let hash = match (&e.password, &e.password_hash) {
                    (_, Some(h)) => h.clone(),
                    (Some(pw), None) => match super::institutions::hash_password(pw) {
                        Ok(h) => h,
                        Err(error) => {
                            tracing::error!(username = %e.username, %error, "cannot hash a portal password; account skipped");
                            return None;
                        }
                    },
                    (None, None) => return None,
                };
                Some((
                    key(&e.institution, &e.username),
                    Operator {
                        customer_id: e.institution.clone(),
                        username: e.username.clone(),
                        hash,
                        origin: Origin::Settings,
                    },
                ))
            })
            .collect();
        let mut accounts = configured.clone();
        for (k, v) in persisted {
            let Some((cid, user)) = k.strip_prefix(OPERATOR_KEY).and_then(|r| r.split_once('/'))
            else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(v).unwrap_or_default();
            if value["deleted"] == true {
                accounts.remove(&key(cid, user));
            } else if let Some(hash) = value["hash"].as_str() {
                accounts.insert(
                    key(cid, user),
                    Operator {
                        customer_id: cid.to_string(),
                        username: user.to_string(),
                        hash: hash.to_string(),
                        origin: Origin::Admin,
                    },
                );
            }
        }
        Portal {
            settings: settings.clone(),
            configured,
            accounts: RwLock::new(accounts),
            sessions: Mutex::default(),
            failures: Mutex::default(),
            locked: Mutex::default(),
            edits: tokio::sync::Mutex::new(()),
        }
    }

    /// The portal's settings.
    pub(crate) fn settings(&self) -> &PortalSettings {
        &self.settings
    }

    /// Every account, by institution and username.
    pub(crate) fn operators(&self) -> Vec<Operator> {
        self.accounts
            .read()
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One account.
    pub(crate) fn operator(&self, customer_id: &str, username: &str) -> Option<Operator> {
        self.accounts
            .read()
            .ok()?
            .get(&key(customer_id, username))
            .cloned()
    }

    /// Adds an account in memory (persistence is the caller's, under [`Portal::edits`]).
    pub(crate) fn insert(&self, op: Operator) {
        if let Ok(mut a) = self.accounts.write() {
            a.insert(key(&op.customer_id, &op.username), op);
        }
    }

    /// Removes an account and ends its sessions; whether it existed.
    pub(crate) fn remove(&self, customer_id: &str, username: &str) -> bool {
        let existed = self
            .accounts
            .write()
            .is_ok_and(|mut a| a.remove(&key(customer_id, username)).is_some());
        if let Ok(mut s) = self.sessions.lock() {
            s.retain(|_, v| !(v.customer_id == customer_id && v.username == username));
        }
        existed
    }

    /// Until when an account is locked at `now`, if it is.
    pub(crate) fn locked_until(
        &self,
        customer_id: &str,
        username: &str,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.locked
            .lock()
            .ok()?
            .get(&key(customer_id, username))
            .copied()
            .filter(|until| *until > now)
    }

    /// Whether a login of the account may be tried at `now`.
    pub(crate) fn gate(&self, customer_id: &str, username: &str, now: DateTime<Utc>) -> Gate {
        match self.locked_until(customer_id, username, now) {
            Some(until) => Gate::Locked(until),
            None => Gate::Open,
        }
    }

    /// Records a failed login at `now`; `Some(until)` when it locked the account.
    pub(crate) fn fail(
        &self,
        customer_id: &str,
        username: &str,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let window = Duration::minutes(i64::from(self.settings.lockout_minutes));
        let k = key(customer_id, username);
        let mut failures = self.failures.lock().ok()?;
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&k) {
            failures.retain(|_, times| times.iter().any(|t| *t > now - window));
            if failures.len() >= MAX_TRACKED {
                failures.clear();
            }
        }
        let times = failures.entry(k.clone()).or_default();
        times.retain(|t| *t > now - window && *t <= now);
        times.push(now);
        if times.len() < self.settings.lockout_failures as usize {
            return None;
        }
        failures.remove(&k);
        let until = now + window;
        let mut locked = self.locked.lock().ok()?;
        if locked.len() >= MAX_TRACKED {
            locked.retain(|_, u| *u > now);
        }
        locked.insert(k, until);
        Some(until)
    }

    /// A successful login: forgets the account's failures and opens a session.
    /// Returns the session's token.
    pub(crate) fn login(&self, customer_id: &str, username: &str, now: DateTime<Utc>) -> String {
        let k = key(customer_id, username);
        if let Ok(mut f) = self.failures.lock() {
            f.remove(&k);
        }
        let session = Session {
            customer_id: customer_id.to_string(),
            username: username.to_string(),
            csrf: token(),
            expires: now + Duration::minutes(i64::from(self.settings.session_minutes)),
        };
        let id = token();
        if let Ok(mut s) = self.sessions.lock() {
            s.retain(|_, v| v.expires > now);
            if s.len() >= MAX_SESSIONS {
                if let Some(first) = s
                    .iter()
                    .min_by_key(|(_, v)| v.expires)
                    .map(|(k, _)| k.clone())
                {
                    s.remove(&first);
                }
            }
            s.insert(id.clone(), session);
        }
        id
    }

    /// The session of a token at `now` (an expired one is removed), if its account still exists.
    pub(crate) fn session(&self, id: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut sessions = self.sessions.lock().ok()?;
        let s = sessions.get(id)?.clone();
        if s.expires <= now || self.operator(&s.customer_id, &s.username).is_none() {
            sessions.remove(id);
            return None;
        }
        Some(s)
    }

    /// The institution of a session token, whatever the time (to read that institution's
    /// clock before the session is checked on it).
    pub(crate) fn session_customer(&self, id: &str) -> Option<String> {
        Some(self.sessions.lock().ok()?.get(id)?.customer_id.clone())
    }

    /// Ends a session.
    pub(crate) fn logout(&self, id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
    }

    /// One institution back to the settings file's accounts, without sessions, failures or
    /// locks (its scoped reset); the other institutions' stay. Returns the persisted-setting
    /// keys its admin changes may have left, for the caller to delete.
    pub(crate) fn reset_institution(&self, customer_id: &str) -> Vec<String> {
        let mut keys = Vec::new();
        if let Ok(mut a) = self.accounts.write() {
            let names: std::collections::BTreeSet<String> = a
                .keys()
                .chain(self.configured.keys())
                .filter(|(c, _)| c == customer_id)
                .map(|(_, u)| u.clone())
                .collect();
            keys = names
                .iter()
                .map(|u| format!("{OPERATOR_KEY}{customer_id}/{u}"))
                .collect();
            a.retain(|(c, _), _| c != customer_id);
            for (k, op) in &self.configured {
                if k.0 == customer_id {
                    a.insert(k.clone(), op.clone());
                }
            }
        }
        if let Ok(mut s) = self.sessions.lock() {
            s.retain(|_, v| v.customer_id != customer_id);
        }
        if let Ok(mut f) = self.failures.lock() {
            f.retain(|(c, _), _| c != customer_id);
        }
        if let Ok(mut l) = self.locked.lock() {
            l.retain(|(c, _), _| c != customer_id);
        }
        keys
    }

    /// No account of `customer_id` any more, settings file's included, and no sessions (the
    /// institution was removed). Returns the persisted-setting keys its accounts may have left.
    pub(crate) fn remove_institution(&self, customer_id: &str) -> Vec<String> {
        let keys = self.reset_institution(customer_id);
        if let Ok(mut a) = self.accounts.write() {
            a.retain(|(c, _), _| c != customer_id);
        }
        keys
    }

    /// Back to the settings file's accounts; no sessions, no failures, no locks.
    pub(crate) fn reset(&self) {
        if let Ok(mut a) = self.accounts.write() {
            *a = self.configured.clone();
        }
        for m in [&self.sessions] {
            if let Ok(mut s) = m.lock() {
                s.clear();
            }
        }
        if let Ok(mut f) = self.failures.lock() {
            f.clear();
        }
        if let Ok(mut l) = self.locked.lock() {
            l.clear();
        }
    }
}

/// Whether `password` matches the account's hash; for an unknown account a dummy hash is
/// checked, so that a wrong username costs as long as a wrong password. Blocking (Argon2).
pub(crate) fn verify(op: Option<&Operator>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match op {
        Some(op) => super::institutions::verify_password(&op.hash, password),
        None => {
            let dummy = DUMMY.get_or_init(|| {
                super::institutions::hash_password("no such operator").unwrap_or_default()
            });
            let _ = super::institutions::verify_password(dummy, password);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal() -> Portal {
        let entries = [PortalOperatorEntry {
            institution: "dinkes_3303".into(),
            username: "petugas01".into(),
            password: Some("rahasia".into()),
            password_hash: None,
        }];
        Portal::new(&PortalSettings::default(), &entries, &HashMap::new())
    }

    #[test]
    fn settings_passwords_are_kept_only_as_hashes() {
        let p = portal();
        let op = p.operator("dinkes_3303", "petugas01").unwrap();
        assert!(op.hash.starts_with("$argon2id$"), "{}", op.hash);
        assert!(!op.hash.contains("rahasia"));
        assert!(verify(Some(&op), "rahasia"));
        assert!(!verify(Some(&op), "salah"));
        assert!(!verify(None, "rahasia"));
    }

    #[test]
    fn five_failures_within_the_window_lock_for_its_length() {
        let p = portal();
        let t0: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
        for i in 0..4 {
            assert_eq!(
                p.fail("dinkes_3303", "petugas01", t0 + Duration::minutes(i)),
                None
            );
        }
        // A failure outside the window does not count with the old ones.
        let p2 = portal();
        for i in 0..4 {
            p2.fail("dinkes_3303", "petugas01", t0 + Duration::minutes(i));
        }
        assert_eq!(
            p2.fail("dinkes_3303", "petugas01", t0 + Duration::minutes(20)),
            None
        );
        let at = t0 + Duration::minutes(5);
        let until = p.fail("dinkes_3303", "petugas01", at).expect("locked");
        assert_eq!(until, at + Duration::minutes(15));
        assert_eq!(p.gate("dinkes_3303", "petugas01", at), Gate::Locked(until));
        assert_eq!(p.gate("dinkes_3303", "petugas01", until), Gate::Open);
        // Another account is not locked.
        assert_eq!(p.gate("dinkes_3303", "petugas02", at), Gate::Open);
    }

    #[test]
    fn sessions_expire_and_end_with_their_account() {
        let p = portal();
        let t0: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
        let id = p.login("dinkes_3303", "petugas01", t0);
        let s = p.session(&id, t0 + Duration::minutes(479)).expect("open");
        assert_eq!(s.username, "petugas01");
        assert_eq!(s.csrf.len(), 64);
        assert!(p.session(&id, t0 + Duration::minutes(480)).is_none());
        let id = p.login("dinkes_3303", "petugas01", t0);
        assert!(p.remove("dinkes_3303", "petugas01"));
        assert!(p.session(&id, t0).is_none());
        p.reset();
        assert!(p.operator("dinkes_3303", "petugas01").is_some());
    }

    #[test]
    fn tokens_compare_whole() {
        let t = token();
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &t[..63]));
        assert!(!same_token("", ""));
    }
}
