//! Where the gateway finds residents: the generated population database in production, an
//! in-memory map in handler tests. The gateway sees only this trait.

use std::collections::HashMap;
use std::sync::RwLock;

use dukcapil_domain::{Nik, Resident};

#[derive(Debug, thiserror::Error)]
#[error("population lookup failed: {0}")]
pub struct SourceError(pub String);

/// A read-only population, shared by every request.
pub trait ResidentSource: Send + Sync + std::fmt::Debug + 'static {
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError>;
}

/// Residents held in memory (handler tests; canary residents layered over a database later).
#[derive(Debug, Default)]
pub struct MemorySource {
    residents: RwLock<HashMap<Nik, Resident>>,
}

impl MemorySource {
    pub fn new(residents: impl IntoIterator<Item = Resident>) -> MemorySource {
        MemorySource {
            residents: RwLock::new(residents.into_iter().map(|r| (r.nik, r)).collect()),
        }
    }

    pub fn insert(&self, r: Resident) {
        if let Ok(mut m) = self.residents.write() {
            m.insert(r.nik, r);
        }
    }
}

impl ResidentSource for MemorySource {
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        let m = self
            .residents
            .read()
            .map_err(|_| SourceError("resident map poisoned".into()))?;
        Ok(m.get(&nik).cloned())
    }
}

/// Opens the population the settings describe.
// Until the population database lands this serves an empty population (every NIK: 13).
pub fn open_population(
    settings: &crate::settings::Settings,
) -> anyhow::Result<std::sync::Arc<dyn ResidentSource>> {
    tracing::warn!(
        seed = settings.seed,
        size = settings.population,
        "population database not available yet"
    );
    Ok(std::sync::Arc::new(MemorySource::default()))
}
