//! Where the gateway finds residents: the admin overlay (canary and changed residents) over a
//! read-only source, the generated population database in production or an in-memory map in
//! handler tests. The gateway sees only [`Residents`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use dukcapil_domain::{Nik, Resident};

use crate::db::DbSource;

#[derive(Debug, thiserror::Error)]
#[error("population lookup failed: {0}")]
pub(crate) struct SourceError(pub(crate) String);

/// A read-only population, shared by every request.
pub(crate) trait ResidentSource: Send + Sync + std::fmt::Debug + 'static {
    /// The resident with this NIK, if any.
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError>;
}

/// Residents held in memory (handler tests).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemorySource {
    residents: RwLock<HashMap<Nik, Resident>>,
}

#[cfg(test)]
impl MemorySource {
    /// A source holding these residents.
    pub(crate) fn new(residents: impl IntoIterator<Item = Resident>) -> MemorySource {
        MemorySource {
            residents: RwLock::new(residents.into_iter().map(|r| (r.nik, r)).collect()),
        }
    }
}

#[cfg(test)]
impl ResidentSource for MemorySource {
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        let m = self
            .residents
            .read()
            .map_err(|_| SourceError("resident map poisoned".into()))?;
        Ok(m.get(&nik).cloned())
    }
}

impl ResidentSource for DbSource {
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        self.lookup(nik).map_err(|e| SourceError(e.to_string()))
    }
}

/// Residents created or changed through the admin API, consulted before the source (which
/// stays read-only).
///
/// An overlay resident may belong to an institution: the one whose admin token (or scope,
/// `?customer_id=`) created or changed it. That institution's scoped reset drops it; other
/// institution tokens cannot change it.
#[derive(Debug)]
pub(crate) struct Residents {
    source: Arc<dyn ResidentSource>,
    overlay: RwLock<HashMap<Nik, Resident>>,
    owners: RwLock<HashMap<Nik, String>>,
}

impl Residents {
    /// The source with an overlay and its owners (as persisted).
    pub(crate) fn new(
        source: Arc<dyn ResidentSource>,
        overlay: HashMap<Nik, Resident>,
        owners: HashMap<Nik, String>,
    ) -> Self {
        Residents {
            source,
            overlay: RwLock::new(overlay),
            owners: RwLock::new(owners),
        }
    }

    /// The institution an overlay resident belongs to, if any.
    pub(crate) fn owner(&self, nik: Nik) -> Option<String> {
        self.owners.read().ok()?.get(&nik).cloned()
    }

    /// Records the institution an overlay resident belongs to.
    pub(crate) fn set_owner(&self, nik: Nik, customer_id: &str) {
        if let Ok(mut m) = self.owners.write() {
            m.insert(nik, customer_id.to_string());
        }
    }

    /// The overlay residents of one institution.
    pub(crate) fn owned_by(&self, customer_id: &str) -> Vec<Nik> {
        self.owners
            .read()
            .map(|m| {
                m.iter()
                    .filter(|(_, c)| c.as_str() == customer_id)
                    .map(|(n, _)| *n)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops these residents from the overlay (an institution's scoped reset).
    pub(crate) fn remove_overlay(&self, niks: &[Nik]) {
        if let (Ok(mut m), Ok(mut o)) = (self.overlay.write(), self.owners.write()) {
            for n in niks {
                m.remove(n);
                o.remove(n);
            }
        }
    }

    /// The one place a NIK is resolved: the overlay first, then the source.
    pub(crate) fn resident(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        if let Some(r) = self
            .overlay
            .read()
            .map_err(|_| SourceError("overlay map poisoned".into()))?
            .get(&nik)
        {
            return Ok(Some(r.clone()));
        }
        self.source.get(nik)
    }

    /// Whether `nik` is an overlay resident.
    pub(crate) fn in_overlay(&self, nik: Nik) -> bool {
        self.overlay
            .read()
            .map(|m| m.contains_key(&nik))
            .unwrap_or(false)
    }

    /// Puts a resident in the overlay (persistence is the caller's).
    pub(crate) fn insert_overlay(&self, r: Resident) {
        if let Ok(mut m) = self.overlay.write() {
            m.insert(r.nik, r);
        }
    }

    /// Drops the overlay (reset).
    pub(crate) fn clear_overlay(&self) {
        if let Ok(mut m) = self.overlay.write() {
            m.clear();
        }
        if let Ok(mut o) = self.owners.write() {
            o.clear();
        }
    }
}
