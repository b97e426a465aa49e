//! Data balikan without HTTP: reading JSON and sheet submissions into rows, validating them
//! against the agreement, and the intake lock that serialises check-then-write.

pub(crate) mod json;
pub(crate) mod sheet;
pub(crate) mod validate;

/// Intake state: serialises check-then-write of submissions so a repeat sent concurrently is
/// still recognised (intake is low volume; the ledger's unique key is the backstop).
#[derive(Debug, Default)]
pub(crate) struct Intake {
    lock: tokio::sync::Mutex<()>,
}

impl Intake {
    /// Held while one submission is checked against the ledger and written.
    pub(crate) async fn serialise(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }
}
