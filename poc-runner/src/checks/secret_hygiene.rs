//! *Secret hygiene*: the institutional password appears nowhere the application writes or shows.

use super::{Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::{storage_bytes, Observation};

/// *Secret hygiene*: the institutional password occurs in no output, log or stored file.
/// The evidence names places, never the password.
pub(super) fn secret_hygiene(password: &str, sources: &[(Evidence, Vec<u8>)]) -> Evaluation {
    if password.is_empty() {
        return Evaluation::review(ev!(
            "berkas target tidak memuat kata sandi instansi untuk dicari",
            "the target file gives no institutional password to search for"
        ));
    }
    if sources.is_empty() {
        return Evaluation::not_exercised(ev!(
            "tidak ada keluaran, log, atau berkas yang dapat dicari",
            "no output, log or file to search"
        ));
    }
    let needle = password.as_bytes();
    let problems: Vec<Evidence> = sources
        .iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(label, _)| {
            ev!(lang =>
                "kata sandi instansi muncul di {}",
                "the institutional password appears in {}",
                label.text(lang)
            )
        })
        .collect();
    Evaluation::judge(
        problems,
        ev!(
            "kata sandi tidak ditemukan di satu pun dari {} sumber",
            "password found in none of {} sources",
            sources.len()
        ),
    )
}

/// The scenario's `secret_hygiene` check: everything captured so far in the session, this
/// test's answers and the storage places.
#[derive(Debug)]
pub(crate) struct SecretHygiene;

impl Check for SecretHygiene {
    fn judge(
        &self,
        obs: &Observation<'_>,
        _rows: &[JournalRow],
        earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let mut sources: Vec<(Evidence, Vec<u8>)> = earlier.to_vec();
        sources.extend(obs.raw_outputs.iter().cloned());
        sources.extend(storage_bytes(&obs.target.file.storage));
        secret_hygiene(obs.target.institutional_password(), &sources)
    }
}
