//! The generated population database as a resident source, read through one read-only
//! connection per thread (a connection is not `Sync`; a tokio worker thread keeps its own for
//! the process's life).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use dukcapil_domain::{Nik, Resident};

use super::population::{PopulationDbError, PopulationReader};

/// A population file served to the gateway.
#[derive(Debug)]
pub(crate) struct DbSource {
    path: PathBuf,
    /// Distinguishes sources in one process (tests run several servers side by side).
    id: u64,
}

static NEXT_SOURCE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static READERS: std::cell::RefCell<Vec<(u64, PopulationReader)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl DbSource {
    /// Checks that `path` opens, then serves it.
    pub(crate) fn open(path: &Path) -> Result<DbSource, PopulationDbError> {
        PopulationReader::open(path)?;
        let id = NEXT_SOURCE.fetch_add(1, Ordering::Relaxed);
        Ok(DbSource {
            path: path.to_path_buf(),
            id,
        })
    }

    /// The resident with this NIK, through this thread's reader.
    pub(crate) fn lookup(&self, nik: Nik) -> Result<Option<Resident>, PopulationDbError> {
        READERS.with(|cell| {
            let mut readers = cell.borrow_mut();
            let at = match readers.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    let reader = PopulationReader::open(&self.path)?;
                    readers.push((self.id, reader));
                    readers.len() - 1
                }
            };
            readers[at].1.get(nik)
        })
    }
}
