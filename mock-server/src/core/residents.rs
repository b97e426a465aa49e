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
#[derive(Debug)]
pub(crate) struct Residents {
    source: Arc<dyn ResidentSource>,
    overlay: RwLock<HashMap<Nik, Resident>>,
}

impl Residents {
    /// The source with an overlay (as persisted).
    pub(crate) fn new(source: Arc<dyn ResidentSource>, overlay: HashMap<Nik, Resident>) -> Self {
        Residents {
            source,
            overlay: RwLock::new(overlay),
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
    }
}
