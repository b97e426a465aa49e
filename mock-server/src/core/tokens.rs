//! Admin tokens and the scope each gives. The sandbox operator's token (`admin_token`) reaches
//! every institution, the unscoped reset and the sandbox's clock; an institution's own token
//! (`[institutions.<id>] admin_token` in the settings file, or issued through
//! `POST /__admin/institutions/{id}/token`) reads and changes that institution only.
//!
//! Institution tokens are known by their SHA-256 hash only: an issued token is random (128
//! bits), so a fast hash is as strong as a slow one against guessing, and one hash per admin
//! request finds the token's institution in a map however many institutions there are (an
//! Argon2 check per request and institution would not). The state database keeps the hashes of
//! issued tokens, never the tokens.

use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};

/// What an admin request may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The sandbox operator: every institution, the unscoped reset, the sandbox clock.
    Operator,
    /// One institution (its customer id): its own journal, quota, switches, clock, fault rules,
    /// canary residents and ledger, nothing of any other.
    Institution(String),
}

/// Why a scope refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this admin token is institution `{own}`'s: it reads and changes `{own}` only, not `{asked}`"
)]
pub(crate) struct OutOfScope {
    pub own: String,
    pub asked: String,
}

impl Scope {
    /// The institution a request concerns: `asked` (its `customer_id`), checked against the
    /// token. The operator may ask for any or none; an institution token means its own.
    pub(crate) fn institution(&self, asked: Option<&str>) -> Result<Option<String>, OutOfScope> {
        match (self, asked) {
            (Scope::Operator, a) => Ok(a.map(str::to_string)),
            (Scope::Institution(own), None) => Ok(Some(own.clone())),
            (Scope::Institution(own), Some(a)) if a == own => Ok(Some(own.clone())),
            (Scope::Institution(own), Some(a)) => Err(OutOfScope {
                own: own.clone(),
                asked: a.to_string(),
            }),
        }
    }

    /// Whether the token may read and change institution `customer_id`.
    pub(crate) fn allows(&self, customer_id: &str) -> Result<(), OutOfScope> {
        self.institution(Some(customer_id)).map(|_| ())
    }

    /// The institution of an institution token; `None` for the operator.
    pub(crate) fn own(&self) -> Option<&str> {
        match self {
            Scope::Operator => None,
            Scope::Institution(own) => Some(own),
        }
    }
}

/// The SHA-256 of a token, as kept.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `a == b` in time independent of where they differ (institution tokens are compared by
/// hash, which gives nothing away either).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every admin token the mock accepts.
#[derive(Debug)]
pub(crate) struct Tokens {
    operator: String,
    /// Hash of a token → its institution.
    institutions: RwLock<HashMap<[u8; 32], String>>,
    /// The hash of each institution's issued token (replaced when a new one is issued).
    issued: RwLock<HashMap<String, [u8; 32]>>,
}

impl Tokens {
    /// The operator's token, the settings file's institution tokens and the hashes of issued
    /// ones (as persisted: customer id → hex).
    pub(crate) fn new<'a>(
        operator: String,
        configured: impl IntoIterator<Item = (&'a str, &'a str)>,
        issued: impl IntoIterator<Item = (String, String)>,
    ) -> Tokens {
        let mut institutions: HashMap<[u8; 32], String> = configured
            .into_iter()
            .map(|(cid, token)| (token_hash(token), cid.to_string()))
            .collect();
        let mut by_cid = HashMap::new();
        for (cid, hex_hash) in issued {
            let Some(hash) = hex::decode(&hex_hash)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
            else {
                tracing::warn!(customer_id = %cid, "ignoring a stored admin token hash that does not parse");
                continue;
            };
            institutions.insert(hash, cid.clone());
            by_cid.insert(cid, hash);
        }
        Tokens {
            operator,
            institutions: RwLock::new(institutions),
            issued: RwLock::new(by_cid),
        }
    }

    /// The scope of a bearer token; `None`: no such token.
    pub(crate) fn scope(&self, token: &str) -> Option<Scope> {
        if same(token, &self.operator) {
            return Some(Scope::Operator);
        }
        let hash = token_hash(token);
        self.institutions
            .read()
            .ok()?
            .get(&hash)
            .map(|cid| Scope::Institution(cid.clone()))
    }

    /// Makes `hash` the issued token of `customer_id`, retiring the one issued before.
    pub(crate) fn issue(&self, customer_id: &str, hash: [u8; 32]) {
        let (Ok(mut all), Ok(mut issued)) = (self.institutions.write(), self.issued.write()) else {
            return;
        };
        if let Some(old) = issued.insert(customer_id.to_string(), hash) {
            all.remove(&old);
        }
        all.insert(hash, customer_id.to_string());
    }
}

impl Tokens {
    /// Adds a token the settings file gives `customer_id` (a removed institution back).
    pub(crate) fn configure(&self, customer_id: &str, token: &str) {
        if let Ok(mut all) = self.institutions.write() {
            all.insert(token_hash(token), customer_id.to_string());
        }
    }

    /// Every token of `customer_id` stops working (the institution was removed).
    pub(crate) fn revoke(&self, customer_id: &str) {
        let (Ok(mut all), Ok(mut issued)) = (self.institutions.write(), self.issued.write()) else {
            return;
        };
        all.retain(|_, cid| cid != customer_id);
        issued.remove(customer_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_give_their_scope() {
        let tokens = Tokens::new(
            "op".into(),
            [("rsud_3313", "rsud-token")],
            [(
                "dinkes_3313".to_string(),
                hex::encode(token_hash("dinkes-token")),
            )],
        );
        assert_eq!(tokens.scope("op"), Some(Scope::Operator));
        assert_eq!(
            tokens.scope("rsud-token"),
            Some(Scope::Institution("rsud_3313".into()))
        );
        assert_eq!(
            tokens.scope("dinkes-token"),
            Some(Scope::Institution("dinkes_3313".into()))
        );
        assert_eq!(tokens.scope("nope"), None);
        tokens.issue("dinkes_3313", token_hash("new"));
        assert_eq!(
            tokens.scope("dinkes-token"),
            None,
            "the old issued token retires"
        );
        assert_eq!(
            tokens.scope("new"),
            Some(Scope::Institution("dinkes_3313".into()))
        );
        assert_eq!(
            tokens.scope("rsud-token"),
            Some(Scope::Institution("rsud_3313".into())),
            "a configured token stays"
        );
    }

    #[test]
    fn an_institution_scope_reaches_its_own_only() {
        let s = Scope::Institution("rsud_3313".into());
        assert_eq!(s.institution(None), Ok(Some("rsud_3313".into())));
        assert!(s.allows("rsud_3313").is_ok());
        let e = s.allows("dinkes_3313").unwrap_err();
        assert!(e.to_string().contains("dinkes_3313"), "{e}");
        assert_eq!(Scope::Operator.institution(None), Ok(None));
        assert!(Scope::Operator.allows("dinkes_3313").is_ok());
    }
}
