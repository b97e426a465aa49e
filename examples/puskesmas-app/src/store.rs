//! The desk's own SQLite: operators (Argon2id hashes), the lookup audit (NIK, operator, outcome
//! code: what decides whether balikan is owed), visit records and one setting (the quota hold).
//! No name, address or other gateway data, except under the `stores-answers` defect.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

/// One service event at the desk, as the visit register keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Visit {
    pub id: i64,
    pub nik: String,
    pub kind: String,
    pub no_rm: String,
    pub no_jkn: Option<String>,
    pub certificate: Option<String>,
    pub operator: String,
    pub balikan: String,
}

impl Store {
    pub(crate) fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS petugas (
                 username TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS pencarian (
                 id INTEGER PRIMARY KEY, nik TEXT NOT NULL, petugas TEXT NOT NULL,
                 kode TEXT NOT NULL, waktu TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS kunjungan (
                 id INTEGER PRIMARY KEY, nik TEXT NOT NULL, jenis TEXT NOT NULL,
                 no_rm TEXT NOT NULL, no_jkn TEXT, no_surat TEXT, petugas TEXT NOT NULL,
                 waktu TEXT NOT NULL, balikan TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS pengaturan (kunci TEXT PRIMARY KEY, nilai TEXT NOT NULL);",
        )
        .with_context(|| format!("cannot prepare database {}", path.display()))?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite is transactional.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates the operator or replaces its password hash.
    pub(crate) fn seed_operator(&self, username: &str, password: &str) -> anyhow::Result<()> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
            .to_string();
        self.conn().execute(
            "INSERT INTO petugas (username, password_hash) VALUES (?1, ?2)
             ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash",
            params![username, hash],
        )?;
        Ok(())
    }

    pub(crate) fn check_password(&self, username: &str, password: &str) -> anyhow::Result<bool> {
        let hash: Option<String> = self
            .conn()
            .query_row(
                "SELECT password_hash FROM petugas WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?;
        let Some(hash) = hash else {
            return Ok(false);
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    }

    pub(crate) fn record_lookup(
        &self,
        nik: &str,
        operator: &str,
        code: &str,
    ) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO pencarian (nik, petugas, kode, waktu) VALUES (?1, ?2, ?3, ?4)",
            params![nik, operator, code, now()],
        )?;
        Ok(())
    }

    /// Whether a lookup of `nik` ever found the resident (balikan is owed only then).
    pub(crate) fn was_found(&self, nik: &str) -> anyhow::Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM pencarian WHERE nik = ?1 AND kode = '01')",
            [nik],
            |r| r.get(0),
        )?)
    }

    /// The NO_RM this desk gave the NIK before, if any.
    pub(crate) fn medical_record(&self, nik: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT no_rm FROM kunjungan WHERE nik = ?1 ORDER BY id LIMIT 1",
                [nik],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A new family-folder number: `PKM-000001`, one per resident.
    pub(crate) fn next_medical_record(&self) -> anyhow::Result<String> {
        let n: i64 =
            self.conn()
                .query_row("SELECT COUNT(DISTINCT nik) + 1 FROM kunjungan", [], |r| {
                    r.get(0)
                })?;
        Ok(format!("PKM-{n:06}"))
    }

    pub(crate) fn add_visit(&self, v: &Visit) -> anyhow::Result<i64> {
        let c = self.conn();
        c.execute(
            "INSERT INTO kunjungan (nik, jenis, no_rm, no_jkn, no_surat, petugas, waktu, balikan)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                v.nik,
                v.kind,
                v.no_rm,
                v.no_jkn,
                v.certificate,
                v.operator,
                now(),
                v.balikan
            ],
        )?;
        Ok(c.last_insert_rowid())
    }

    pub(crate) fn set_visit_balikan(&self, id: i64, status: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE kunjungan SET balikan = ?2 WHERE id = ?1",
            params![id, status],
        )?;
        Ok(())
    }

    pub(crate) fn visits(&self) -> anyhow::Result<Vec<Visit>> {
        let c = self.conn();
        let mut st = c.prepare(
            "SELECT id, nik, jenis, no_rm, no_jkn, no_surat, petugas, balikan FROM kunjungan
             ORDER BY id DESC LIMIT 50",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(Visit {
                    id: r.get(0)?,
                    nik: r.get(1)?,
                    kind: r.get(2)?,
                    no_rm: r.get(3)?,
                    no_jkn: r.get(4)?,
                    certificate: r.get(5)?,
                    operator: r.get(6)?,
                    balikan: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub(crate) fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT nilai FROM pengaturan WHERE kunci = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub(crate) fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO pengaturan (kunci, nilai) VALUES (?1, ?2)
             ON CONFLICT(kunci) DO UPDATE SET nilai = excluded.nilai",
            params![key, value],
        )?;
        Ok(())
    }

    /// The `stores-answers` defect: a "prefill archive" of everything the gateway returned.
    pub(crate) fn archive_resident(&self, nik: &str, record_json: &str) -> anyhow::Result<()> {
        let c = self.conn();
        c.execute(
            "CREATE TABLE IF NOT EXISTS arsip_penduduk (
                 nik TEXT PRIMARY KEY, data TEXT NOT NULL, diambil TEXT NOT NULL)",
            [],
        )?;
        c.execute(
            "INSERT INTO arsip_penduduk (nik, data, diambil) VALUES (?1, ?2, ?3)
             ON CONFLICT(nik) DO UPDATE SET data = excluded.data, diambil = excluded.diambil",
            params![nik, record_json, now()],
        )?;
        Ok(())
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_audit_visits_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("x/p.sqlite")).unwrap();
        s.seed_operator("a", "rahasia").unwrap();
        assert!(s.check_password("a", "rahasia").unwrap());
        assert!(!s.check_password("a", "salah").unwrap());
        assert!(!s.check_password("b", "rahasia").unwrap());
        s.seed_operator("a", "baru").unwrap();
        assert!(s.check_password("a", "baru").unwrap());

        s.record_lookup("3303014107890003", "a", "13").unwrap();
        assert!(!s.was_found("3303014107890003").unwrap());
        s.record_lookup("3303014107890003", "a", "01").unwrap();
        assert!(s.was_found("3303014107890003").unwrap());

        assert_eq!(s.next_medical_record().unwrap(), "PKM-000001");
        let v = Visit {
            id: 0,
            nik: "3303014107890003".into(),
            kind: "kunjungan".into(),
            no_rm: "PKM-000001".into(),
            no_jkn: Some("0001234567890".into()),
            certificate: None,
            operator: "a".into(),
            balikan: "menunggu".into(),
        };
        let id = s.add_visit(&v).unwrap();
        s.set_visit_balikan(id, "terkirim").unwrap();
        assert_eq!(s.visits().unwrap()[0].balikan, "terkirim");
        assert_eq!(
            s.medical_record("3303014107890003").unwrap().as_deref(),
            Some("PKM-000001")
        );
        assert_eq!(s.next_medical_record().unwrap(), "PKM-000002");

        assert_eq!(s.setting("k").unwrap(), None);
        s.set_setting("k", "v").unwrap();
        s.set_setting("k", "w").unwrap();
        assert_eq!(s.setting("k").unwrap().as_deref(), Some("w"));
    }
}
