//! An institution as the gateway sees it now: its agreement plus the switches an admin can
//! flip, and the rules by which an admin change applies.

use std::collections::BTreeMap;
use std::sync::Arc;

use dukcapil_domain::{AccessMethod, Agreement, Service, Term};
use dukcapil_mock_api::{AccessHours, BalikanKeys, InstitutionPatch, IpPolicy};

use crate::config::Settings;

/// The method names an institution may call unless its settings say otherwise, with the
/// service each maps to: the documented two and the names public clients call on the same path
/// shape (contract §1). `CALL_NIK_GET_KK` (by family card) and `adm_desa` (region data) are
/// other services the mock does not simulate; they get `unknown_method_status`.
pub(crate) const DEFAULT_METHODS: &[(&str, Service)] = &[
    ("CALL_NIK", Service::Lookup),
    ("call_nik_kecamatan", Service::Lookup),
    ("GET_NIK", Service::Lookup),
    ("BYNIK", Service::Lookup),
    ("CALL_VERIFY_BY_ELEMEN", Service::Verification),
    ("nik_verifby_elemen", Service::Verification),
    ("koneksitas_verifby_elemen", Service::Verification),
];

/// Method names as an institution may call them (as configured, with their service). Names
/// are case-insensitive on the wire; a handful per institution, so a scan without allocation
/// is the cheapest lookup on the hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Methods(Vec<(String, Service)>);

impl Methods {
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = (&'a str, Service)>) -> Methods {
        Methods(names.into_iter().map(|(n, s)| (n.to_string(), s)).collect())
    }

    /// The default set ([`DEFAULT_METHODS`]).
    pub(crate) fn defaults() -> &'static Methods {
        static DEFAULTS: std::sync::OnceLock<Methods> = std::sync::OnceLock::new();
        DEFAULTS.get_or_init(|| Methods::new(DEFAULT_METHODS.iter().copied()))
    }

    /// The service a method name maps to, if the institution may call it.
    pub(crate) fn service(&self, method: &str) -> Option<Service> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(method))
            .map(|(_, service)| *service)
    }

    /// Name as configured → service, for the admin API.
    pub(crate) fn view(&self) -> BTreeMap<String, Service> {
        self.0.iter().cloned().collect()
    }
}

/// An institution as the gateway sees it now: its agreement plus the switches an admin can flip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Institution {
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
    /// A rotated password as the state file stores it: an Argon2id PHC string, never the text.
    /// After a restart only this is known (`password` is empty) until a lookup matches it.
    pub password_hash: Option<String>,
    /// The Argon2id hash of the password of an institution added through the admin API (its
    /// agreement's password text is not kept; `reset` and `{"password": null}` return to this).
    pub agreement_password_hash: Option<String>,
    pub term: Term,
    /// `None`: unlimited.
    pub quota_per_day: Option<u32>,
    /// WIB hours during which calls are served; `None`: always.
    pub access_hours: Option<AccessHours>,
    /// Test mode: lookups return every element, also those outside the agreement, so a PoC can
    /// check that the application keeps its own whitelist. Never on unless set by the admin API.
    pub extra_elements: bool,
    /// How the registered address is judged.
    pub ip_policy: IpPolicy,
    /// Balikan keys outside the agreement: accepted and recorded, or refused.
    pub balikan_keys: BalikanKeys,
    /// The method names it may call.
    pub methods: Arc<Methods>,
    /// The PoC is passed: the Web Portal's daily quota is unlimited (admin API switch).
    pub poc_passed: bool,
    /// Its own clock offset (µs) on top of the sandbox's clock; 0 unless set through
    /// `POST /__admin/clock?customer_id=` (a scoped reset drops it).
    pub clock_offset_us: i64,
}

impl Institution {
    /// Applies a validated admin change.
    pub(crate) fn apply(&mut self, patch: &InstitutionPatch) {
        let inst = self;
        if let Some(a) = patch.active {
            inst.active = a;
        }
        if let Some(a) = patch.user_active {
            inst.user_active = a;
        }
        if let Some(ip) = &patch.ip_user {
            inst.ip_user = ip.clone();
        }
        if let Some(pw) = &patch.password {
            inst.password = pw
                .clone()
                .unwrap_or_else(|| inst.agreement.credentials.password.clone());
            inst.password_hash = match pw {
                Some(_) => None,
                None => inst.agreement_password_hash.clone(),
            };
        }
        if let Some(t) = &patch.term {
            inst.term = t.clone();
        }
        if let Some(h) = patch.access_hours {
            inst.access_hours = h;
        }
        if let Some(q) = patch.quota_per_day {
            inst.quota_per_day = q;
        }
        if let Some(x) = patch.extra_elements {
            inst.extra_elements = x;
        }
        if let Some(p) = patch.ip_policy {
            inst.ip_policy = p;
        }
        if let Some(k) = patch.balikan_keys {
            inst.balikan_keys = k;
        }
        if let Some(p) = patch.poc_passed {
            inst.poc_passed = p;
        }
    }

    /// Whether the gateway password is no longer the agreement's (rotated through the admin API).
    pub(crate) fn password_rotated(&self) -> bool {
        match &self.agreement_password_hash {
            // Added through the admin API: only hashes are known; a rotation replaced it.
            Some(h) => self.password_hash.as_ref() != Some(h),
            None => {
                self.password_hash.is_some() || self.password != self.agreement.credentials.password
            }
        }
    }

    /// Whether the agreement grants an access method.
    pub(crate) fn grants(&self, method: AccessMethod) -> bool {
        self.agreement.access_methods.contains(&method)
    }

    /// The Web Portal's daily quota: `quota_before_poc` until the PoC is passed, then none.
    pub(crate) fn portal_quota(&self, settings: &Settings) -> Option<u32> {
        (!self.poc_passed).then_some(settings.portal.quota_before_poc)
    }

    /// Whether `given` is the password accepted now; `Some(true)` when that was decided by the
    /// stored hash (the caller then keeps the text in memory for the next lookups).
    pub(crate) fn password_matches(&self, given: &str) -> (bool, bool) {
        if !self.password.is_empty() || self.password_hash.is_none() {
            return (!given.is_empty() && given == self.password, false);
        }
        let ok = self
            .password_hash
            .as_deref()
            .is_some_and(|phc| verify_password(phc, given));
        (ok, ok)
    }

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
            password_hash: None,
            agreement_password_hash: None,
            term: a.term.clone(),
            quota_per_day: o.quota_per_day.or(a.quota_per_day),
            // Validated when the settings were resolved; a bad value here means "always open".
            access_hours: o.access_hours.and_then(|h| h.parse().ok()),
            extra_elements: false,
            ip_policy: o.ip_policy.unwrap_or(settings.ip_policy),
            balikan_keys: o.balikan_keys.unwrap_or(settings.balikan_keys),
            methods: Arc::new(match &o.methods {
                Some(m) => Methods::new(m.iter().map(|(n, s)| (n.as_str(), *s))),
                None => Methods::defaults().clone(),
            }),
            poc_passed: false,
            clock_offset_us: 0,
        }
    }
}

/// An Argon2id PHC string of `password` with a fresh salt.
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// `given` matches the PHC string `phc`.
pub(crate) fn verify_password(phc: &str, given: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(given.as_bytes(), &h)
            .is_ok()
    })
}

/// An institution of its own under an agreement profile (every puskesmas of a health office),
/// as a settings block `[institutions.<id>] agreement = "…"` or `POST /__admin/institutions`
/// describes it. Unset credentials take the settings file's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OwnInstitution<'a> {
    pub profile: &'a str,
    pub name: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub password: Option<&'a str>,
    pub balikan_token: Option<&'a str>,
    pub ip_user: Option<&'a str>,
}

impl OwnInstitution<'_> {
    /// Its agreement: the profile's grant, term and quota under its own customer id, User ID,
    /// password and balikan token. `profiles`: the agreements it may be under; `in_force`: every
    /// institution there is (customer ids and balikan tokens are each one's own).
    pub(crate) fn derive(
        &self,
        cid: &str,
        profiles: &[Agreement],
        in_force: &[Agreement],
    ) -> Result<Agreement, String> {
        let profile = self.profile;
        if in_force.iter().any(|a| a.customer_id == cid) {
            return Err(format!("`{cid}` is already the customer id of an institution; an institution under agreement `{profile}` needs a customer id of its own"));
        }
        if !dukcapil_mock_api::valid_customer_id(cid) {
            return Err(
                "a customer id is 1-64 letters, digits, `_` or `-` (it is a path segment)".into(),
            );
        }
        let Some(base) = profiles.iter().find(|a| a.id == profile) else {
            let known: Vec<&str> = profiles.iter().map(|a| a.id.as_str()).collect();
            return Err(format!(
                "no agreement profile `{profile}` (known: {})",
                known.join(", ")
            ));
        };
        let mut a = base.clone();
        a.customer_id = cid.to_string();
        a.institution = self
            .name
            .map_or_else(|| format!("{} ({cid})", base.institution), str::to_string);
        a.credentials.user_id = self.user_id.unwrap_or(cid).to_string();
        a.credentials.password = self
            .password
            .map_or_else(|| format!("dummy-{cid}"), str::to_string);
        a.credentials.balikan_token = self
            .balikan_token
            .map_or_else(|| format!("balikan-{cid}-dummy"), str::to_string);
        if let Some(ip) = self.ip_user {
            a.credentials.ip_user = ip.to_string();
        }
        if let Some(other) = in_force
            .iter()
            .find(|x| x.credentials.balikan_token == a.credentials.balikan_token)
        {
            return Err(format!(
                "balikan_token is also `{}`'s: each institution needs its own",
                other.customer_id
            ));
        }
        Ok(a)
    }
}
