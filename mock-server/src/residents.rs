//! Where the gateway finds residents: the generated population database in production, an
//! in-memory map in handler tests. The gateway sees only this trait.

use std::collections::HashMap;
use std::sync::RwLock;

use dukcapil_domain::{Nik, Resident};

use crate::population_db::{PopulationReader, PopulationSpec};

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

/// The generated population database, read through one read-only connection per thread (a
/// connection is not `Sync`; a tokio worker thread keeps its own for the process's life).
#[derive(Debug)]
pub struct DbSource {
    path: std::path::PathBuf,
    /// Distinguishes sources in one process (tests run several servers side by side).
    id: u64,
}

static NEXT_SOURCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    static READERS: std::cell::RefCell<Vec<(u64, PopulationReader)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl DbSource {
    /// Checks that `path` opens, then serves it.
    pub fn open(path: &std::path::Path) -> Result<DbSource, SourceError> {
        PopulationReader::open(path).map_err(|e| SourceError(e.to_string()))?;
        let id = NEXT_SOURCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(DbSource {
            path: path.to_path_buf(),
            id,
        })
    }
}

impl ResidentSource for DbSource {
    fn get(&self, nik: Nik) -> Result<Option<Resident>, SourceError> {
        READERS.with(|cell| {
            let mut readers = cell.borrow_mut();
            let at = match readers.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    let reader = PopulationReader::open(&self.path)
                        .map_err(|e| SourceError(e.to_string()))?;
                    readers.push((self.id, reader));
                    readers.len() - 1
                }
            };
            readers[at]
                .1
                .get(nik)
                .map_err(|e| SourceError(e.to_string()))
        })
    }
}

/// Generates (once) and opens the population the settings describe.
pub fn open_population(
    settings: &crate::settings::Settings,
) -> anyhow::Result<std::sync::Arc<dyn ResidentSource>> {
    let spec = PopulationSpec {
        seed: settings.seed,
        size: settings.population,
    };
    let info = crate::population_db::ensure(&settings.data_dir, spec, true)?;
    let count = PopulationReader::open(&info.path)?.count()?;
    tracing::info!(path = %info.path.display(), residents = count, hash = %info.hash, "population ready");
    Ok(std::sync::Arc::new(DbSource::open(&info.path)?))
}
