//! Data balikan without HTTP: reading JSON and sheet submissions into rows, validating them
//! against the agreement, and the intake state that serialises check-then-write and bounds how
//! many submissions are read and parsed at once.

pub(crate) mod json;
pub(crate) mod sheet;
pub(crate) mod validate;

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;

/// Intake state: serialises check-then-write of submissions so a repeat sent concurrently is
/// still recognised (intake is low volume; the ledger's unique key is the backstop), and holds
/// the two gates of `[limits]`: submissions admitted at once (`upload_max_waiting`, past it a
/// fast refusal) and parsed at once on the blocking pool (`upload_concurrency`).
#[derive(Debug)]
pub(crate) struct Intake {
    lock: Arc<tokio::sync::Mutex<()>>,
    admitted: Arc<Semaphore>,
    parsing: Arc<Semaphore>,
}

impl Default for Intake {
    fn default() -> Self {
        Intake::new(&Limits::default())
    }
}

impl Intake {
    pub(crate) fn new(limits: &Limits) -> Intake {
        Intake {
            lock: Arc::new(tokio::sync::Mutex::new(())),
            admitted: Arc::new(Semaphore::new(
                limits
                    .upload_max_waiting
                    .max(limits.upload_concurrency)
                    .max(1),
            )),
            parsing: Arc::new(Semaphore::new(limits.upload_concurrency.max(1))),
        }
    }

    /// Held while one submission is checked against the ledger and written (until its journal
    /// row and ledger entries are committed).
    pub(crate) async fn serialise(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.lock.clone().lock_owned().await
    }

    /// A place among the submissions admitted at once, if one is free.
    pub(crate) fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.admitted.clone().try_acquire_owned().ok()
    }

    /// Waits for a turn to parse (held while the blocking parse runs).
    pub(crate) async fn parse_turn(&self) -> Option<OwnedSemaphorePermit> {
        self.parsing.clone().acquire_owned().await.ok()
    }
}
