//! Retention scans: look for canary markers in the application's files, folders, logs and
//! SQLite databases (every table, every text or blob column).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::evidence::{ev, Evidence};

/// A place where the application keeps data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StorageLocation {
    /// One file.
    File(PathBuf),
    /// Every file below, recursively.
    Folder(PathBuf),
    /// A log file the application writes.
    Log(PathBuf),
    /// Read through SQLite (tables and columns named in hits), and the raw file (freed pages).
    Sqlite(PathBuf),
}

/// A value to look for, with the name evidence uses for it (never the value itself for secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub label: Evidence,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScanReport {
    pub scanned: Vec<String>,
    pub hits: Vec<Hit>,
    /// Places that could not be read (a person must look), as evidence lines.
    pub errors: Vec<Evidence>,
    /// Declared places that do not exist: nothing can be concluded about them (a wrong path,
    /// or storage the application keeps elsewhere), so they are never "nothing stored".
    #[serde(default)]
    pub absent: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hit {
    pub marker: Evidence,
    /// `path`, `path` + ` table.column (row n)`, ...
    pub place: Evidence,
}

/// Scans every location for every marker. A declared place that does not exist is listed in
/// [`ScanReport::absent`] (not scanned, not an error); an unreadable one is an error.
pub(crate) fn scan(locations: &[StorageLocation], markers: &[Marker]) -> ScanReport {
    let mut report = ScanReport::default();
    for loc in locations {
        let (StorageLocation::File(p)
        | StorageLocation::Folder(p)
        | StorageLocation::Log(p)
        | StorageLocation::Sqlite(p)) = loc;
        if std::fs::symlink_metadata(p).is_err() {
            report.absent.push(p.display().to_string());
            continue;
        }
        match loc {
            StorageLocation::File(p) | StorageLocation::Log(p) => {
                scan_file(p, markers, &mut report)
            }
            StorageLocation::Folder(p) => scan_folder(p, markers, &mut report),
            StorageLocation::Sqlite(p) => {
                scan_sqlite(p, markers, &mut report);
                // Deleted rows linger in free pages and the WAL until vacuumed: storage all the same.
                for raw in [p.clone(), sibling(p, "-wal"), sibling(p, "-journal")] {
                    if raw.exists() {
                        scan_file(&raw, markers, &mut report);
                    }
                }
            }
        }
    }
    report
}

fn sibling(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn scan_file(path: &Path, markers: &[Marker], report: &mut ScanReport) {
    let shown = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => {
            report.scanned.push(shown.clone());
            for m in markers {
                if contains(&bytes, m.value.as_bytes()) {
                    report.hits.push(Hit {
                        marker: m.label.clone(),
                        place: Evidence::verbatim(shown.clone()),
                    });
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.scanned.push(format!("{shown} (absent)"))
        }
        Err(e) => report.errors.push(ev!(
            "{shown}: tidak dapat dibaca: {e}",
            "{shown}: cannot read: {e}"
        )),
    }
}

fn scan_folder(dir: &Path, markers: &[Marker], report: &mut ScanReport) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.scanned.push(format!("{} (absent)", dir.display()));
            return;
        }
        Err(e) => {
            report.errors.push(ev!(
                "{}: isi folder tidak dapat dibaca: {e}",
                "{}: cannot list: {e}",
                dir.display()
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        // Symlinks are not followed: a link out of the folder is not the application's storage.
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => scan_folder(&p, markers, report),
            Ok(m) if m.is_file() => scan_file(&p, markers, report),
            Ok(_) => {}
            Err(e) => report.errors.push(ev!(
                "{}: tidak dapat diperiksa: {e}",
                "{}: {e}",
                p.display()
            )),
        }
    }
}

fn scan_sqlite(path: &Path, markers: &[Marker], report: &mut ScanReport) {
    let shown = path.display().to_string();
    if !path.exists() {
        report.scanned.push(format!("{shown} (absent)"));
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for table in tables {
            let quoted = quote_ident(&table);
            let columns: Vec<String> = conn
                .prepare(&format!("PRAGMA table_info({quoted})"))?
                .query_map([], |r| r.get(1))?
                .collect::<Result<_, _>>()?;
            // Every column: SQLite is dynamically typed, a TEXT value can sit in an INTEGER column.
            let list = columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {list} FROM {quoted}");
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            let mut n = 0u64;
            while let Some(row) = rows.next()? {
                n += 1;
                for (i, col) in columns.iter().enumerate() {
                    let bytes: Option<Vec<u8>> = match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            Some(t.to_vec())
                        }
                        rusqlite::types::ValueRef::Integer(v) => Some(v.to_string().into_bytes()),
                        _ => None,
                    };
                    let Some(bytes) = bytes else { continue };
                    for m in markers {
                        if contains(&bytes, m.value.as_bytes()) {
                            report.hits.push(Hit {
                                marker: m.label.clone(),
                                place: ev!(
                                    "{shown} {table}.{col} (baris {n})",
                                    "{shown} {table}.{col} (row {n})"
                                ),
                            });
                        }
                    }
                }
            }
            report.scanned.push(format!("{shown} {table} ({n} rows)"));
        }
        Ok(())
    })();
    if let Err(e) = result {
        report.errors.push(ev!(
            "{shown}: tidak dapat dibaca sebagai SQLite: {e}",
            "{shown}: cannot read as SQLite: {e}"
        ));
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

// memchr's substring search: the scan reads every file and cell of the application's storage
// for each marker, and a naive window-by-window comparison was a third of a session's CPU.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers() -> Vec<Marker> {
        vec![
            Marker {
                label: Evidence::verbatim("NAMA_LGKP"),
                value: "SRI QX7K".into(),
            },
            Marker {
                label: Evidence::verbatim("NIK"),
                value: "9201014107890003".into(),
            },
        ]
    }

    #[test]
    fn finds_markers_in_files_folders_and_every_sqlite_table() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cache/deep")).unwrap();
        std::fs::write(dir.path().join("cache/deep/page.html"), "<b>SRI QX7K</b>").unwrap();
        std::fs::write(dir.path().join("app.log"), "lookup done").unwrap();
        let db = dir.path().join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE pasien (id INTEGER PRIMARY KEY, nik TEXT, catatan BLOB);
             INSERT INTO pasien (nik, catatan) VALUES ('3313014107890003', 'ok');
             CREATE TABLE \"odd \"\"name\" (x INTEGER);
             INSERT INTO \"odd \"\"name\" VALUES (9201014107890003);",
        )
        .unwrap();
        drop(conn);
        let locs = vec![
            StorageLocation::Folder(dir.path().join("cache")),
            StorageLocation::Log(dir.path().join("app.log")),
            StorageLocation::Sqlite(db.clone()),
            StorageLocation::File(dir.path().join("missing.txt")),
        ];
        let r = scan(&locs, &markers());
        assert!(r.errors.is_empty(), "{r:?}");
        let places: Vec<String> = r
            .hits
            .iter()
            .map(|h| format!("{}@{}", h.marker.en, h.place.en))
            .collect();
        assert!(
            places
                .iter()
                .any(|p| p.starts_with("NAMA_LGKP@") && p.ends_with("page.html")),
            "{places:?}"
        );
        assert!(
            places
                .iter()
                .any(|p| p.starts_with("NIK@") && p.ends_with("odd \"name.x (row 1)")),
            "{places:?}"
        );
        // The clean log: scanned, no hit.
        assert!(!places.iter().any(|p| p.ends_with("app.log")));
        assert!(r.absent.iter().any(|s| s.ends_with("missing.txt")), "{r:?}");
        assert!(
            !r.scanned.iter().any(|s| s.contains("missing.txt")),
            "{r:?}"
        );
    }

    #[test]
    fn deleted_rows_still_count_until_vacuumed_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA secure_delete=OFF; CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('SRI QX7K'); DELETE FROM t;").unwrap();
        drop(conn);
        let r = scan(&[StorageLocation::Sqlite(db)], &markers());
        assert!(
            r.hits
                .iter()
                .any(|h| h.marker.en == "NAMA_LGKP" && !h.place.en.contains("t.v")),
            "{r:?}"
        );
        let junk = dir.path().join("junk.db");
        std::fs::write(
            &junk,
            "this is not a database, definitely not a sqlite file header",
        )
        .unwrap();
        let r = scan(&[StorageLocation::Sqlite(junk)], &markers());
        assert_eq!(r.errors.len(), 1, "{r:?}");
    }
}
