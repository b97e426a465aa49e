//! The hospital's own SQLite database: operators, patients, visits, deaths and an audit trail
//! of lookups (NIK, operator, outcome code). It holds no resident data from the gateway; the
//! `dukcapil_answers` table exists only for the `store-answer` defect.

use std::path::Path;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("password hashing: {0}")]
    Hash(String),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS operators (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nik TEXT NOT NULL UNIQUE,
    no_rm TEXT NOT NULL UNIQUE,
    gol_darah TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS visits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    operator TEXT NOT NULL,
    visited_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deaths (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    certificate TEXT NOT NULL,
    operator TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lookups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nik TEXT NOT NULL,
    operator TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lookups_nik ON lookups(nik);
";

#[derive(Debug)]
pub(crate) struct Db {
    conn: Connection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patient {
    pub id: i64,
    pub nik: String,
    pub no_rm: String,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Db, DbError> {
        let conn = Connection::open(path).map_err(|source| DbError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db { conn })
    }

    /// Creates the operator, or re-hashes when the configured password changed.
    pub(crate) fn seed_operator(&self, username: &str, password: &str) -> Result<(), DbError> {
        if self.verify_operator(username, password)? {
            return Ok(());
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| DbError::Hash(e.to_string()))?
            .to_string();
        self.conn.execute(
            "INSERT INTO operators(username, password_hash) VALUES (?1, ?2)
             ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash",
            params![username, hash],
        )?;
        Ok(())
    }

    pub(crate) fn verify_operator(&self, username: &str, password: &str) -> Result<bool, DbError> {
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT password_hash FROM operators WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return Ok(false);
        };
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    }

    pub(crate) fn record_lookup(
        &self,
        nik: &str,
        operator: &str,
        outcome: &str,
    ) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO lookups(nik, operator, outcome, at) VALUES (?1, ?2, ?3, ?4)",
            params![nik, operator, outcome, now()],
        )?;
        Ok(())
    }

    /// Whether the gateway ever found this NIK for us: data balikan is owed only then.
    pub(crate) fn was_found(&self, nik: &str) -> Result<bool, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM lookups WHERE nik = ?1 AND outcome = '01' LIMIT 1",
                [nik],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Finds or registers the patient; `bool` says whether it was new. Each call is a visit.
    pub(crate) fn register_patient(
        &self,
        nik: &str,
        gol_darah: Option<&str>,
        operator: &str,
    ) -> Result<(Patient, bool), DbError> {
        let existing = self.patient(nik)?;
        let (patient, new) = match existing {
            Some(p) => {
                if let Some(g) = gol_darah {
                    self.conn.execute(
                        "UPDATE patients SET gol_darah = ?1 WHERE id = ?2",
                        params![g, p.id],
                    )?;
                }
                (p, false)
            }
            None => {
                let tx = self.conn.unchecked_transaction()?;
                // The medical-record number derives from the row id, so it is unique.
                tx.execute(
                    "INSERT INTO patients(nik, no_rm, gol_darah, created_at) VALUES (?1, '', ?2, ?3)",
                    params![nik, gol_darah, now()],
                )?;
                let id = tx.last_insert_rowid();
                let no_rm = format!("RM-{id:06}");
                tx.execute(
                    "UPDATE patients SET no_rm = ?1 WHERE id = ?2",
                    params![no_rm, id],
                )?;
                tx.commit()?;
                (
                    Patient {
                        id,
                        nik: nik.to_string(),
                        no_rm,
                    },
                    true,
                )
            }
        };
        self.conn.execute(
            "INSERT INTO visits(patient_id, operator, visited_at) VALUES (?1, ?2, ?3)",
            params![patient.id, operator, now()],
        )?;
        Ok((patient, new))
    }

    pub(crate) fn patient(&self, nik: &str) -> Result<Option<Patient>, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, nik, no_rm FROM patients WHERE nik = ?1",
                [nik],
                |r| {
                    Ok(Patient {
                        id: r.get(0)?,
                        nik: r.get(1)?,
                        no_rm: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    pub(crate) fn record_death(
        &self,
        patient: &Patient,
        certificate: &str,
        operator: &str,
    ) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO deaths(patient_id, certificate, operator, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            params![patient.id, certificate, operator, now()],
        )?;
        Ok(())
    }

    /// The `store-answer` defect: keeps the gateway's whole answer, "to save quota".
    pub(crate) fn store_answer(&self, nik: &str, raw: &str) -> Result<(), DbError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS dukcapil_answers (nik TEXT, answer TEXT, fetched_at TEXT)",
        )?;
        self.conn.execute(
            "INSERT INTO dukcapil_answers(nik, answer, fetched_at) VALUES (?1, ?2, ?3)",
            params![nik, raw, now()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_patients_and_audit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("a.sqlite")).unwrap();
        db.seed_operator("op1", "rahasia").unwrap();
        assert!(db.verify_operator("op1", "rahasia").unwrap());
        assert!(!db.verify_operator("op1", "salah").unwrap());
        assert!(!db.verify_operator("nobody", "rahasia").unwrap());
        db.seed_operator("op1", "baru").unwrap();
        assert!(db.verify_operator("op1", "baru").unwrap());

        let (p, new) = db
            .register_patient("3313014107890003", Some("O"), "op1")
            .unwrap();
        assert!(new);
        assert_eq!(p.no_rm, "RM-000001");
        let (again, new) = db
            .register_patient("3313014107890003", None, "op1")
            .unwrap();
        assert!(!new);
        assert_eq!(again, p);
        let (q, _) = db
            .register_patient("3313014107890004", None, "op1")
            .unwrap();
        assert_eq!(q.no_rm, "RM-000002");

        assert!(!db.was_found("3313014107890003").unwrap());
        db.record_lookup("3313014107890003", "op1", "13").unwrap();
        assert!(!db.was_found("3313014107890003").unwrap());
        db.record_lookup("3313014107890003", "op1", "01").unwrap();
        assert!(db.was_found("3313014107890003").unwrap());
        db.record_death(&p, "SKK/001", "op1").unwrap();
    }
}
