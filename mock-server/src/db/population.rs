//! The generated dummy population in SQLite: one file per (seed, size) under the data directory,
//! written once to a temporary file and renamed into place, then read through read-only,
//! memory-mapped connections (one per worker thread).
//!
//! Region names are not stored: a row keeps the 10-digit village code and the reader derives the
//! `NO_*` codes and `*_NAME`s from the embedded reference data, which keeps the file small.

use std::fs;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{Datelike, NaiveDate};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use sha2::{Digest, Sha256};

use dukcapil_domain::population::{generate, GENERATOR_VERSION};
use dukcapil_domain::{
    mask_nik, Nik, NoKk, Reference, Resident, ResidentStatus, Sex, DOUBLE_EXACT_LIMIT,
};

pub use dukcapil_domain::population::PopulationSpec;

/// Version of the table layout below; a stored file with another version is regenerated.
pub(super) const SCHEMA_VERSION: u32 = 2;

/// Bits of the `name_flags` column, for finding names that trip up client code.
const FLAG_APOSTROPHE: i64 = 1;
const FLAG_DOT: i64 = 2;
const FLAG_TRAILING_SPACE: i64 = 4;
const FLAG_LONG: i64 = 8;
/// A name at least this long counts as "long" (the field holds 60).
pub(super) const LONG_NAME: usize = 55;

const COLUMNS: &str = "nik, no_kk, nama_lgkp, jenis_klmin, tmpt_lhr, tgl_lhr, status_kawin, jenis_pkrjn, gol_darah, \
    agama, pddk_akh, stat_hbkel, nama_lgkp_ibu, nama_lgkp_ayah, alamat, dusun, no_rt, no_rw, kode_pos, village, \
    ektp_status, no_akta_lhr, status";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE resident (
    seq INTEGER PRIMARY KEY,           -- generation order: families stay together in listings
    nik INTEGER NOT NULL,              -- unique index built after the load (a sort, not random inserts)
    no_kk INTEGER NOT NULL,
    nama_lgkp TEXT NOT NULL,
    jenis_klmin INTEGER NOT NULL,      -- 1 LAKI-LAKI, 2 PEREMPUAN
    tmpt_lhr TEXT NOT NULL,
    tgl_lhr INTEGER NOT NULL,          -- YYYYMMDD
    status_kawin TEXT NOT NULL,
    jenis_pkrjn TEXT NOT NULL,
    gol_darah TEXT NOT NULL,
    agama TEXT NOT NULL,
    pddk_akh TEXT NOT NULL,
    stat_hbkel TEXT NOT NULL,
    nama_lgkp_ibu TEXT NOT NULL,
    nama_lgkp_ayah TEXT,
    alamat TEXT NOT NULL,
    dusun TEXT,
    no_rt INTEGER NOT NULL,
    no_rw INTEGER NOT NULL,
    kode_pos INTEGER,
    village INTEGER NOT NULL,          -- 10-digit Kepmendagri code; region codes and names derive from it
    ektp_status TEXT,
    no_akta_lhr TEXT,
    status INTEGER NOT NULL,           -- 0 active, 1 deceased, 2 duplicate, 3 inactive
    name_flags INTEGER NOT NULL        -- 1 apostrophe, 2 dot, 4 trailing space, 8 long
);
";

/// A population database problem, always naming the file or directory involved.
#[derive(Debug, thiserror::Error)]
pub enum PopulationDbError {
    /// The data directory cannot be prepared.
    #[error("data directory {}: {what}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be read or written.
    #[error("population database {}: {what}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused an operation.
    #[error("population database {}: {what}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored row does not make a resident.
    #[error("population database {}: invalid row (NIK {nik}): {what}", path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// Masked, as everything that may reach a log.
        nik: String,
        /// What is wrong with it.
        what: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The generator thread died while writing the file.
    #[error("population database {}: the generator thread stopped unexpectedly", path.display())]
    Generator {
        /// The file.
        path: PathBuf,
    },
}

fn sql_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(rusqlite::Error) -> PopulationDbError + 'a {
    move |source| PopulationDbError::Sqlite {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn io_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(std::io::Error) -> PopulationDbError + 'a {
    move |source| PopulationDbError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// A ready dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationFile {
    /// The SQLite file.
    pub path: PathBuf,
    /// Generator seed.
    pub seed: u64,
    /// Number of residents.
    pub size: u64,
    /// SHA-256 (hex) of the canonical rows in generation order.
    pub hash: String,
}

/// SHA-256 (lower-case hex) of a file's bytes, read in 1 MiB blocks.
pub(crate) fn file_sha256(path: &Path) -> Result<String, PopulationDbError> {
    let mut file = fs::File::open(path).map_err(io_err(path, "open"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path, "read"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// File name of the dataset for `spec` inside the data directory.
pub fn dataset_file_name(spec: PopulationSpec) -> String {
    format!("population-s{}-n{}.sqlite", spec.seed, spec.size)
}

/// Uses `DATA_DIR/population-s{seed}-n{size}.sqlite` if complete and valid, else (re)generates it
/// into a temporary file in the same directory and renames it into place, so a half-written file
/// is never used. A corrupt file is reported with its path (tracing warning) and regenerated.
/// A progress bar is drawn on stderr only when `progress` is set and stderr is a terminal.
pub fn ensure(
    data_dir: &Path,
    spec: PopulationSpec,
    progress: bool,
) -> Result<PopulationFile, PopulationDbError> {
    prepare_dir(data_dir)?;
    remove_stale_temporaries(data_dir);
    let path = data_dir.join(dataset_file_name(spec));
    if path.exists() {
        match validate(&path, spec) {
            Ok(info) => return Ok(info),
            Err(Invalid::Outdated(why)) => {
                tracing::info!(path = %path.display(), "population dataset is outdated ({why}); regenerating");
            }
            Err(Invalid::Corrupt(why)) => {
                tracing::warn!(path = %path.display(), "population dataset is corrupt or incomplete ({why}); regenerating");
            }
        }
    }
    let hash = write_dataset(&path, spec, progress)?;
    Ok(PopulationFile {
        path,
        seed: spec.seed,
        size: spec.size,
        hash,
    })
}

/// Removes `.NAME.tmp-PID` files (and their SQLite side files) of generations that were
/// interrupted: their process is gone (per `/proc`; where there is no `/proc`, nothing is
/// removed). Each removal is logged.
fn remove_stale_temporaries(dir: &Path) {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((_, tail)) = name.split_once(".tmp-").filter(|_| name.starts_with('.')) else {
            continue;
        };
        let pid: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let rest = &tail[pid.len()..];
        if pid.is_empty() || !matches!(rest, "" | "-journal" | "-wal" | "-shm") {
            continue;
        }
        let alive = pid != std::process::id().to_string() && proc.join(&pid).exists();
        if alive {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => {
                tracing::info!(path = %entry.path().display(), "removed a stale temporary dataset file of an interrupted generation")
            }
            Err(e) => {
                tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove a stale temporary dataset file")
            }
        }
    }
}

fn prepare_dir(dir: &Path) -> Result<(), PopulationDbError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(PopulationDbError::DataDir {
            path: dir.to_path_buf(),
            what: "exists but is not a directory",
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "not a directory"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|source| PopulationDbError::DataDir {
                path: dir.to_path_buf(),
                what: "cannot be created",
                source,
            })
        }
        Err(source) => Err(PopulationDbError::DataDir {
            path: dir.to_path_buf(),
            what: "cannot be read",
            source,
        }),
    }
}

/// Why a stored dataset is not used.
#[derive(Debug)]
enum Invalid {
    /// Written by another generator or schema version (normal after an upgrade).
    Outdated(String),
    /// Truncated, half-written or not a database at all.
    Corrupt(String),
}

/// Checks the SQLite header against the file length, so that a truncated file is caught
/// without reading every page.
fn check_file_length(path: &Path) -> Result<(), Invalid> {
    let mut header = [0u8; 100];
    let mut f = fs::File::open(path).map_err(|e| Invalid::Corrupt(format!("cannot open: {e}")))?;
    f.read_exact(&mut header)
        .map_err(|_| Invalid::Corrupt("shorter than a SQLite header".into()))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(Invalid::Corrupt("not a SQLite database".into()));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let len = f
        .metadata()
        .map_err(|e| Invalid::Corrupt(format!("cannot stat: {e}")))?
        .len();
    if page_size * pages != len {
        return Err(Invalid::Corrupt(format!(
            "file is {len} bytes, header says {} pages of {page_size}",
            pages
        )));
    }
    Ok(())
}

fn validate(path: &Path, spec: PopulationSpec) -> Result<PopulationFile, Invalid> {
    check_file_length(path)?;
    let corrupt = |e: rusqlite::Error| Invalid::Corrupt(e.to_string());
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    let meta = |key: &str| -> Result<Option<String>, Invalid> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(corrupt)
    };
    if meta("complete")?.as_deref() != Some("1") {
        return Err(Invalid::Corrupt("not marked complete".into()));
    }
    let schema = meta("schema_version")?;
    let generator = meta("generator_version")?;
    if schema != Some(SCHEMA_VERSION.to_string())
        || generator != Some(GENERATOR_VERSION.to_string())
    {
        return Err(Invalid::Outdated(format!(
            "schema {schema:?}, generator {generator:?}"
        )));
    }
    if meta("seed")? != Some(spec.seed.to_string()) || meta("size")? != Some(spec.size.to_string())
    {
        return Err(Invalid::Corrupt(
            "seed or size in the file do not match its name".into(),
        ));
    }
    let hash = meta("hash")?.ok_or_else(|| Invalid::Corrupt("no hash".into()))?;
    let count: i64 = conn
        .query_row("SELECT count(*) FROM resident", [], |r| r.get(0))
        .map_err(corrupt)?;
    if u64::try_from(count).ok() != Some(spec.size) {
        return Err(Invalid::Corrupt(format!(
            "{count} rows, expected {}",
            spec.size
        )));
    }
    Ok(PopulationFile {
        path: path.to_path_buf(),
        seed: spec.seed,
        size: spec.size,
        hash,
    })
}

fn name_flags(name: &str) -> i64 {
    let mut f = 0;
    if name.contains('\'') {
        f |= FLAG_APOSTROPHE;
    }
    if name.contains('.') {
        f |= FLAG_DOT;
    }
    if name.ends_with(' ') {
        f |= FLAG_TRAILING_SPACE;
    }
    if name.chars().count() >= LONG_NAME {
        f |= FLAG_LONG;
    }
    f
}

fn date_int(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

fn status_int(s: ResidentStatus) -> i64 {
    match s {
        ResidentStatus::Active => 0,
        ResidentStatus::Deceased => 1,
        ResidentStatus::Duplicate => 2,
        ResidentStatus::Inactive => 3,
    }
}

fn village_code(r: &Resident) -> i64 {
    ((i64::from(r.no_prop) * 100 + i64::from(r.no_kab)) * 100 + i64::from(r.no_kec)) * 10_000
        + i64::from(r.no_kel)
}

/// Feeds the canonical form of a row into the hash: the stored columns in order, integers as
/// 8 little-endian bytes, texts as their bytes followed by a unit separator, absent values as a
/// lone 0xFF byte (never valid UTF-8), a record separator at the end. Binary on purpose: text
/// formatting of numbers and dates cost more than the hashing itself.
fn hash_row(h: &mut Sha256, r: &Resident) {
    fn int(h: &mut Sha256, v: i64) {
        h.update(v.to_le_bytes());
    }
    fn text(h: &mut Sha256, v: &str) {
        h.update(v.as_bytes());
        h.update([0x1f]);
    }
    fn opt(h: &mut Sha256, v: Option<&str>) {
        match v {
            Some(v) => text(h, v),
            None => h.update([0xff]),
        }
    }
    int(h, r.nik.value() as i64);
    int(h, r.no_kk.value() as i64);
    text(h, &r.nama_lgkp);
    int(h, if r.jenis_klmin == Sex::Male { 1 } else { 2 });
    text(h, &r.tmpt_lhr);
    int(h, date_int(r.tgl_lhr));
    text(h, &r.status_kawin);
    text(h, &r.jenis_pkrjn);
    text(h, &r.gol_darah);
    text(h, &r.agama);
    text(h, &r.pddk_akh);
    text(h, &r.stat_hbkel);
    text(h, &r.nama_lgkp_ibu);
    opt(h, r.nama_lgkp_ayah.as_deref());
    text(h, &r.alamat);
    opt(h, r.dusun.as_deref());
    int(h, i64::from(r.no_rt));
    int(h, i64::from(r.no_rw));
    int(h, r.kode_pos.map_or(-1, i64::from));
    int(h, village_code(r));
    opt(h, r.ektp_status.as_deref());
    opt(h, r.no_akta_lhr.as_deref());
    int(h, status_int(r.status));
    h.update([0x1e]);
}

/// Residents travel from the generator thread to the writer in batches of this size.
const BATCH: usize = 2_048;

/// Generates `spec` into a temporary file next to `path` and renames it into place.
fn write_dataset(
    path: &Path,
    spec: PopulationSpec,
    progress: bool,
) -> Result<String, PopulationDbError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        dataset_file_name(spec),
        std::process::id()
    ));
    let result = write_into(&tmp, spec, progress).and_then(|hash| {
        // The bulk load ran without syncing; make the file durable before it becomes visible.
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&tmp, "cannot sync"))?;
        fs::rename(&tmp, path)
            .map_err(io_err(path, "cannot move the finished dataset into place"))?;
        Ok(hash)
    });
    if result.is_err() {
        // Best effort: a leftover temporary file is never used, only wasted space.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn progress_bar(size: u64, progress: bool) -> indicatif::ProgressBar {
    if !progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "generating residents {bar:40} {human_pos}/{human_len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn write_into(
    tmp: &Path,
    spec: PopulationSpec,
    progress: bool,
) -> Result<String, PopulationDbError> {
    match fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(tmp, "cannot remove an old temporary file")(e)),
    }
    let mut conn = Connection::open(tmp).map_err(sql_err(tmp, "cannot create"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
    )
    .map_err(sql_err(tmp, "cannot set bulk-load pragmas"))?;
    conn.execute_batch(SCHEMA)
        .map_err(sql_err(tmp, "cannot create the schema"))?;

    // Generation runs on its own thread so that it overlaps with SQLite's work.
    let (tx, rx) = mpsc::sync_channel::<Vec<Resident>>(8);
    let producer = std::thread::Builder::new()
        .name("population-generator".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for r in generate(spec) {
                batch.push(r);
                // A closed channel means the writer failed; it reports the error.
                if batch.len() == BATCH
                    && tx
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        })
        .map_err(io_err(tmp, "cannot start the generator thread"))?;

    let bar = progress_bar(spec.size, progress);
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let txn = conn.transaction().map_err(sql_err(tmp, "cannot begin"))?;
    {
        let mut insert = txn
            .prepare(&format!(
                "INSERT INTO resident ({COLUMNS}, name_flags, seq) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
            ))
            .map_err(sql_err(tmp, "cannot prepare the insert"))?;
        for batch in rx {
            for (r, seq) in batch.iter().zip(written as i64..) {
                hash_row(&mut hasher, r);
                insert
                    .execute(params![
                        r.nik.value() as i64,
                        r.no_kk.value() as i64,
                        r.nama_lgkp,
                        if r.jenis_klmin == Sex::Male { 1 } else { 2 },
                        r.tmpt_lhr,
                        date_int(r.tgl_lhr),
                        r.status_kawin,
                        r.jenis_pkrjn,
                        r.gol_darah,
                        r.agama,
                        r.pddk_akh,
                        r.stat_hbkel,
                        r.nama_lgkp_ibu,
                        r.nama_lgkp_ayah,
                        r.alamat,
                        r.dusun,
                        r.no_rt,
                        r.no_rw,
                        r.kode_pos,
                        village_code(r),
                        r.ektp_status,
                        r.no_akta_lhr,
                        status_int(r.status),
                        name_flags(&r.nama_lgkp),
                        seq,
                    ])
                    .map_err(sql_err(tmp, "cannot insert a resident"))?;
            }
            written += batch.len() as u64;
            bar.set_position(written);
        }
    }
    if producer.join().is_err() || written != spec.size {
        return Err(PopulationDbError::Generator {
            path: tmp.to_path_buf(),
        });
    }
    let hash = hex::encode(hasher.finalize());
    txn.execute_batch(
        "CREATE UNIQUE INDEX resident_nik ON resident (nik);
         CREATE INDEX resident_status ON resident (status, seq);
         CREATE INDEX resident_edge_names ON resident (name_flags) WHERE name_flags != 0;",
    )
    .map_err(sql_err(tmp, "cannot build the indexes"))?;
    {
        let mut meta = txn
            .prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")
            .map_err(sql_err(tmp, "cannot prepare the meta insert"))?;
        for (k, v) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("generator_version", GENERATOR_VERSION.to_string()),
            ("seed", spec.seed.to_string()),
            ("size", spec.size.to_string()),
            ("hash", hash.clone()),
        ] {
            meta.execute(params![k, v])
                .map_err(sql_err(tmp, "cannot write meta"))?;
        }
    }
    txn.commit().map_err(sql_err(tmp, "cannot commit"))?;
    // Written last and on its own: a file without it is never used.
    conn.execute("INSERT INTO meta (key, value) VALUES ('complete', '1')", [])
        .map_err(sql_err(tmp, "cannot mark complete"))?;
    conn.close()
        .map_err(|(_, e)| sql_err(tmp, "cannot close")(e))?;
    bar.finish_and_clear();
    Ok(hash)
}

/// `file:` URI of `path` with `immutable=1`; `%`, `?` and `#` are the characters a URI path
/// must escape.
fn immutable_uri(path: &Path) -> Option<String> {
    let mut uri = String::from("file:");
    for c in path.to_str()?.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3F"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

/// Read-only access to a dataset. Open one per worker thread (a connection is not `Sync`).
#[derive(Debug)]
pub struct PopulationReader {
    conn: Connection,
    path: PathBuf,
}

impl PopulationReader {
    /// Opens `path` read-only and memory-mapped, without a per-connection mutex, as an
    /// immutable file: a dataset is never written once complete (a new one is written aside
    /// and renamed over it, which open readers do not see), so SQLite may skip the file lock,
    /// the hot-journal check and the change counter of every lookup's read transaction.
    pub fn open(path: &Path) -> Result<Self, PopulationDbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match immutable_uri(path) {
            Some(uri) => Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI),
            // A path that is not UTF-8 cannot be written as a URI: opened plainly.
            None => Connection::open_with_flags(path, flags),
        }
        .map_err(sql_err(path, "cannot open read-only"))?;
        conn.execute_batch("PRAGMA mmap_size = 1073741824; PRAGMA query_only = 1;")
            .map_err(sql_err(path, "cannot configure the reader"))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(PopulationReader {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The resident with this NIK, whatever their status.
    pub fn get(&self, nik: Nik) -> Result<Option<Resident>, PopulationDbError> {
        static BY_NIK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = BY_NIK.get_or_init(|| format!("SELECT {COLUMNS} FROM resident WHERE nik = ?1"));
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(sql_err(&self.path, "cannot prepare the lookup"))?;
        let mut rows = stmt
            .query([nik.value() as i64])
            .map_err(sql_err(&self.path, "lookup failed"))?;
        match rows.next().map_err(sql_err(&self.path, "lookup failed"))? {
            Some(row) => self.resident(row).map(Some),
            None => Ok(None),
        }
    }

    /// Up to `limit` residents, optionally of one status, in generation order (family by family).
    pub fn list(
        &self,
        status: Option<ResidentStatus>,
        limit: u64,
    ) -> Result<Vec<Resident>, PopulationDbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match status {
            Some(s) => self.query(
                &format!("SELECT {COLUMNS} FROM resident WHERE status = ?1 ORDER BY seq LIMIT ?2"),
                params![status_int(s), limit],
            ),
            None => self.query(
                &format!("SELECT {COLUMNS} FROM resident ORDER BY seq LIMIT ?1"),
                params![limit],
            ),
        }
    }

    /// `n` residents of a status, spread over the whole NIK range (not just the lowest NIKs);
    /// the same dataset always gives the same sample.
    pub fn sample_by_status(
        &self,
        status: ResidentStatus,
        n: usize,
    ) -> Result<Vec<Resident>, PopulationDbError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM resident WHERE status = ?1 ORDER BY ((nik % 1000003) * 65537) % 1000003, nik LIMIT ?2"),
            params![status_int(status), n as i64],
        )
    }

    /// Active residents whose names are hard on client code: an apostrophe, a dot, a trailing
    /// space or 55+ characters; taken in turn from each kind so the result mixes them.
    pub fn edge_names(&self, n: usize) -> Result<Vec<Resident>, PopulationDbError> {
        let kinds = [FLAG_APOSTROPHE, FLAG_DOT, FLAG_TRAILING_SPACE, FLAG_LONG];
        let mut per_kind = Vec::with_capacity(kinds.len());
        for flag in kinds {
            per_kind.push(self.query(
                &format!(
                    "SELECT {COLUMNS} FROM resident WHERE name_flags != 0 AND (name_flags & ?1) != 0 AND status = 0 \
                     ORDER BY nik LIMIT ?2"
                ),
                params![flag, n as i64],
            )?);
        }
        let mut out: Vec<Resident> = Vec::with_capacity(n);
        let mut seen = std::collections::HashSet::new();
        let longest = per_kind.iter().map(Vec::len).max().unwrap_or(0);
        'fill: for i in 0..longest {
            for kind in &per_kind {
                if out.len() == n {
                    break 'fill;
                }
                if let Some(r) = kind.get(i) {
                    if seen.insert(r.nik) {
                        out.push(r.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Active residents whose NIK exceeds 2^53 (provinces 91-96), in NIK order.
    pub fn beyond_double(&self, n: usize) -> Result<Vec<Resident>, PopulationDbError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM resident WHERE nik > ?1 AND status = 0 ORDER BY nik LIMIT ?2"),
            params![DOUBLE_EXACT_LIMIT as i64, n as i64],
        )
    }

    /// Number of residents in the file.
    pub fn count(&self) -> Result<u64, PopulationDbError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM resident", [], |r| r.get(0))
            .map_err(sql_err(&self.path, "cannot count residents"))?;
        Ok(n.max(0) as u64)
    }

    fn query(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Resident>, PopulationDbError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(sql_err(&self.path, "cannot prepare a query"))?;
        let mut rows = stmt
            .query(args)
            .map_err(sql_err(&self.path, "query failed"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err(&self.path, "query failed"))? {
            out.push(self.resident(row)?);
        }
        Ok(out)
    }

    fn resident(&self, row: &Row<'_>) -> Result<Resident, PopulationDbError> {
        let raw_nik: i64 = row.get(0).map_err(sql_err(&self.path, "bad NIK column"))?;
        let bad = |what: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
            PopulationDbError::BadRow {
                path: self.path.clone(),
                nik: mask_nik(&format!("{raw_nik:016}")),
                what,
                source,
            }
        };
        let col = |e: rusqlite::Error| bad("unreadable column".into(), Some(Box::new(e)));
        let nik: Nik = format!("{raw_nik:016}")
            .parse()
            .map_err(|e| bad("NIK".into(), Some(Box::new(e))))?;
        let raw_kk: i64 = row.get(1).map_err(col)?;
        let no_kk: NoKk = format!("{raw_kk:016}")
            .parse()
            .map_err(|e| bad("NO_KK".into(), Some(Box::new(e))))?;
        let tgl: i64 = row.get(5).map_err(col)?;
        let tgl_lhr = u32::try_from(tgl)
            .ok()
            .and_then(|t| NaiveDate::from_ymd_opt((t / 10_000) as i32, t / 100 % 100, t % 100))
            .ok_or_else(|| bad(format!("birth date {tgl}"), None))?;
        let village: i64 = row.get(19).map_err(col)?;
        let village =
            u64::try_from(village).map_err(|_| bad(format!("village {village}"), None))?;
        let district = (village / 10_000) as u32;
        let r = Reference::get();
        let names = (|| {
            let v = r.villages_of(district).iter().find(|v| v.code == village)?;
            Some((
                r.province(district / 10_000)?.name.clone(),
                r.regency(district / 100)?.name.clone(),
                r.district(district)?.name.clone(),
                v.name.clone(),
            ))
        })();
        let (prop_name, kab_name, kec_name, kel_name) = names.ok_or_else(|| {
            bad(
                format!("village {village} is not in the reference data"),
                None,
            )
        })?;
        let status = match row.get::<_, i64>(22).map_err(col)? {
            0 => ResidentStatus::Active,
            1 => ResidentStatus::Deceased,
            2 => ResidentStatus::Duplicate,
            3 => ResidentStatus::Inactive,
            other => return Err(bad(format!("status {other}"), None)),
        };
        Ok(Resident {
            nik,
            no_kk,
            nama_lgkp: row.get(2).map_err(col)?,
            jenis_klmin: if row.get::<_, i64>(3).map_err(col)? == 2 {
                Sex::Female
            } else {
                Sex::Male
            },
            tmpt_lhr: row.get(4).map_err(col)?,
            tgl_lhr,
            status_kawin: row.get(6).map_err(col)?,
            jenis_pkrjn: row.get(7).map_err(col)?,
            gol_darah: row.get(8).map_err(col)?,
            agama: row.get(9).map_err(col)?,
            pddk_akh: row.get(10).map_err(col)?,
            stat_hbkel: row.get(11).map_err(col)?,
            nama_lgkp_ibu: row.get(12).map_err(col)?,
            nama_lgkp_ayah: row.get(13).map_err(col)?,
            alamat: row.get(14).map_err(col)?,
            dusun: row.get(15).map_err(col)?,
            no_rt: row.get(16).map_err(col)?,
            no_rw: row.get(17).map_err(col)?,
            kode_pos: row.get(18).map_err(col)?,
            no_prop: district / 10_000,
            prop_name,
            no_kab: district / 100 % 100,
            kab_name,
            no_kec: district % 100,
            kec_name,
            no_kel: (village % 10_000) as u32,
            kel_name,
            ektp_status: row.get(20).map_err(col)?,
            no_akta_lhr: row.get(21).map_err(col)?,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64, size: u64) -> PopulationSpec {
        PopulationSpec { seed, size }
    }

    #[test]
    fn round_trips_every_generated_resident() {
        let dir = tempfile::tempdir().unwrap();
        let info = ensure(dir.path(), spec(3, 3_000), false).unwrap();
        assert_eq!(info.path, dir.path().join("population-s3-n3000.sqlite"));
        assert_eq!(info.hash.len(), 64);
        let reader = PopulationReader::open(&info.path).unwrap();
        assert_eq!(reader.count().unwrap(), 3_000);
        for r in generate(spec(3, 3_000)) {
            assert_eq!(reader.get(r.nik).unwrap().as_ref(), Some(&r));
        }
        let missing = Nik::from_parts(
            331301,
            NaiveDate::from_ymd_opt(1901, 1, 1).unwrap(),
            Sex::Male,
            9_999,
        );
        assert_eq!(reader.get(missing).unwrap(), None);
        // Reusing the file gives the same identity without regenerating it.
        let modified = fs::metadata(&info.path).unwrap().modified().unwrap();
        assert_eq!(ensure(dir.path(), spec(3, 3_000), false).unwrap(), info);
        assert_eq!(
            fs::metadata(&info.path).unwrap().modified().unwrap(),
            modified
        );
    }

    #[test]
    fn a_dataset_under_a_folder_named_with_uri_characters_is_read() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data 100% #1?x=y");
        let info = ensure(&dir, spec(4, 200), false).unwrap();
        let reader = PopulationReader::open(&info.path).unwrap();
        assert_eq!(reader.count().unwrap(), 200);
        let first = generate(spec(4, 200)).next().unwrap();
        assert_eq!(reader.get(first.nik).unwrap(), Some(first));
        // A file of that name in the parent folder must not be what was opened.
        assert!(!root.path().join("data 100").exists());
    }

    #[test]
    fn hash_depends_on_seed_and_not_on_the_run() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let x = ensure(a.path(), spec(5, 500), false).unwrap();
        assert_eq!(x.hash, ensure(b.path(), spec(5, 500), false).unwrap().hash);
        assert_ne!(x.hash, ensure(b.path(), spec(6, 500), false).unwrap().hash);
    }

    #[test]
    fn queries_select_what_they_promise() {
        let dir = tempfile::tempdir().unwrap();
        let info = ensure(dir.path(), spec(11, 20_000), false).unwrap();
        let reader = PopulationReader::open(&info.path).unwrap();

        let all = reader.list(None, 50).unwrap();
        assert_eq!(
            all,
            generate(spec(11, 20_000)).take(50).collect::<Vec<_>>(),
            "generation order"
        );
        assert_eq!(reader.list(None, 50).unwrap(), all);
        for &s in ResidentStatus::ALL {
            let listed = reader.list(Some(s), 10).unwrap();
            assert!(!listed.is_empty(), "{s}");
            assert!(listed.iter().all(|r| r.status == s));
            let sample = reader.sample_by_status(s, 10).unwrap();
            assert!(!sample.is_empty() && sample.iter().all(|r| r.status == s));
            assert_eq!(reader.sample_by_status(s, 10).unwrap(), sample);
        }
        let active = reader
            .sample_by_status(ResidentStatus::Active, 100)
            .unwrap();
        assert_eq!(active.len(), 100);
        let provinces: std::collections::BTreeSet<u32> = active.iter().map(|r| r.no_prop).collect();
        assert!(
            provinces.contains(&33),
            "sample spreads over the NIK range: {provinces:?}"
        );

        let edge = reader.edge_names(40).unwrap();
        assert_eq!(edge.len(), 40);
        assert!(edge
            .iter()
            .all(|r| r.status == ResidentStatus::Active && name_flags(&r.nama_lgkp) != 0));
        assert!(edge.iter().any(|r| r.nama_lgkp.contains('\'')));
        assert!(edge.iter().any(|r| r.nama_lgkp.contains('.')));
        assert!(edge.iter().any(|r| r.nama_lgkp.ends_with(' ')));
        assert!(edge
            .iter()
            .any(|r| r.nama_lgkp.chars().count() >= LONG_NAME));

        let big = reader.beyond_double(10).unwrap();
        assert_eq!(big.len(), 10);
        assert!(big
            .iter()
            .all(|r| r.nik.exceeds_double_precision() && r.status == ResidentStatus::Active));
    }

    #[test]
    fn truncated_or_garbage_files_are_regenerated() {
        let dir = tempfile::tempdir().unwrap();
        let good = ensure(dir.path(), spec(9, 2_000), false).unwrap();
        let bytes = fs::read(&good.path).unwrap();
        fs::write(&good.path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(ensure(dir.path(), spec(9, 2_000), false).unwrap(), good);
        assert_eq!(fs::read(&good.path).unwrap().len(), bytes.len());
        fs::write(&good.path, b"not a database at all").unwrap();
        assert_eq!(ensure(dir.path(), spec(9, 2_000), false).unwrap(), good);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }

    #[test]
    fn a_file_as_data_dir_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, "x").unwrap();
        let err = ensure(&file, spec(1, 10), false).unwrap_err();
        assert!(matches!(err, PopulationDbError::DataDir { .. }));
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
    }
}
