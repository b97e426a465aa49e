//! The mock Web Portal's operator accounts as the admin API adds, lists and removes them
//! (`/__admin/portal/operators`), and the rules of an operator's username.

use serde::{Deserialize, Serialize};

/// Longest operator username.
pub const MAX_USERNAME: usize = 64;
/// Longest operator password (bytes).
pub const MAX_PORTAL_PASSWORD: usize = 200;

/// Whether `name` is a valid operator username: 1-64 ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter or digit (the agencies' local user ids look like `petugas.pendaftaran01`).
///
/// ```
/// assert!(dukcapil_mock_api::valid_username("petugas.pendaftaran01"));
/// assert!(!dukcapil_mock_api::valid_username(".x"));
/// assert!(!dukcapil_mock_api::valid_username("dua kata"));
/// ```
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `POST /__admin/portal/operators`: a new operator account of an institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalOperatorCreate {
    /// The institution (customer id) the operator works for.
    pub customer_id: String,
    /// The operator's username (see [`valid_username`]); journaled as the user id of each search.
    pub username: String,
    /// The password, stored only as its Argon2id hash.
    pub password: String,
}

impl PortalOperatorCreate {
    /// Checks the username and password; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !valid_username(&self.username) {
            return Err(format!(
                "`username` must be 1-{MAX_USERNAME} letters, digits, '.', '_' or '-', starting with a letter or digit"
            ));
        }
        if self.password.trim().is_empty() || self.password.len() > MAX_PORTAL_PASSWORD {
            return Err(format!(
                "`password` must be a non-blank string of at most {MAX_PORTAL_PASSWORD} bytes"
            ));
        }
        Ok(())
    }
}

/// An operator account as the admin API shows it (never the password or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalOperatorView {
    /// The institution (customer id).
    pub customer_id: String,
    /// The operator's username.
    pub username: String,
    /// `settings` (the settings file's `[[portal_operators]]`) or `admin` (added by the API).
    pub origin: String,
    /// Whether the institution's agreement grants the Web Portal (without it, no login).
    pub web_portal: bool,
    /// Until when (RFC 3339, the mock's clock) logins are refused after repeated failures.
    pub locked_until: Option<String>,
}

/// `GET /__admin/portal/operators`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalOperatorList {
    /// Every operator account, by institution and username.
    pub operators: Vec<PortalOperatorView>,
}
