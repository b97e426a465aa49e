//! What population the mock serves: `GET /__admin/dataset`.

use serde::{Deserialize, Serialize};

/// The dummy population the mock serves. The same seed and size always give the same residents;
/// `sha256` identifies the very file (a result can name the dataset it was judged against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Generator seed.
    pub seed: u64,
    /// Number of residents.
    pub size: u64,
    /// SHA-256 (lower-case hex) of the population SQLite file's bytes, computed when the mock
    /// started.
    pub sha256: String,
}
