//! Everything that knows rusqlite. The state database `DATA_DIR/state.sqlite` (journal, quota
//! usage, persisted settings, the balikan ledger), kept apart from the population file so that
//! commits do not drop the readers' page cache; the population file itself ([`population`]).
//!
//! One writer thread owns the only write connection. It batches rows with a group commit that
//! tunes itself: after the first message it drains the channel, and keeps waiting (polling every
//! 20 µs, at most 1 ms) only while a gateway call has read its request and not yet queued its
//! row ([`Upcoming`]); then it commits once and acknowledges every message of the batch. A lone
//! caller is answered at once; under load the calls in progress keep the batch open. (The rule
//! before it, "keep draining while messages still arrive", left a core idle 40% of the time at
//! 16 connections: every client waited on a batch that waited on them.) A request is answered only
//! after that acknowledgement, so nothing answered is lost.
//!
//! Per row the writer inserts the journal row; quota counts go in as one upsert per institution
//! and day of the batch, and the lookup ledger is written only for a NIK this writer has not put
//! there before (a set in memory, forgotten on any command).
//!
//! The writer never checkpoints the write-ahead log itself (`wal_autocheckpoint=0`): SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold, which stalled every
//! waiting request behind one commit of up to 150 ms (its fsyncs). A second connection on its own
//! thread ([`checkpointer_loop`]) copies the log back into the database with passive checkpoints,
//! which never block the writer, and starts it over past about 4 MB with a short blocking one.
//! Durability is unchanged: a commit is in the log either way. Measured at 64 connections with
//! `bench/cpu-per-request.sh`: p99 6.9-7.8 ms → 3.5-3.9 ms, longest answer 12-17 ms → 7-11 ms.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dukcapil_mock_api::JournalRow;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

mod ledger;
mod population;
mod source;

pub(crate) use ledger::{
    known as ledger_known, query as ledger_query, values_json, Known, LedgerFilter, Method,
    NewEntry,
};
pub(crate) use population::file_sha256;
pub use population::{
    dataset_file_name, ensure as ensure_population, PopulationDbError, PopulationFile,
    PopulationReader, PopulationSpec,
};
pub(crate) use source::DbSource;

/// Longest a batch keeps collecting after its first message.
const MAX_BATCH_WAIT: Duration = Duration::from_millis(1);
/// Pause between two drains of the channel while a batch waits for an [`Upcoming`] row.
const POLL: Duration = Duration::from_micros(20);
const MAX_BATCH: usize = 1024;
/// How often the checkpointer looks at the write-ahead log.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// Log size (pages of 4 KiB) above which the checkpointer restarts the log: the bound on the log
/// file (about 4 MiB, SQLite's own automatic threshold, plus what one interval writes).
const WAL_BOUND_PAGES: i64 = 1_000;

/// A state database that cannot be used: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("state database {}", path.display())]
pub(crate) struct StoreError {
    /// The state database (or, for [`StoreErrorKind::Dir`], the data directory).
    pub(crate) path: PathBuf,
    /// What went wrong.
    #[source]
    pub(crate) kind: StoreErrorKind,
}

/// What went wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreErrorKind {
    /// SQLite refused an operation.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread failed to commit a batch (the same error goes to every message of it).
    #[error("commit failed: {0}")]
    Commit(#[source] Arc<rusqlite::Error>),
    /// The writer thread (or a blocking read task) is gone.
    #[error("the journal writer has stopped")]
    WriterGone,
    /// A value could not be encoded for storage.
    #[error("cannot encode a value: {0}")]
    Encode(String),
    /// The data directory cannot be created, or the writer thread not started.
    #[error("cannot create it: {0}")]
    Dir(#[source] std::io::Error),
    /// The file is empty: not a state database (start with `--fresh-state` to replace it).
    #[error("the file is empty (0 bytes), not a state database; start with --fresh-state to move it aside and start a new one")]
    Empty,
    /// The file is another application's SQLite database.
    #[error("the file is not a mock state database (it holds tables {0}); start with --fresh-state to move it aside and start a new one")]
    Foreign(String),
}

impl StoreError {
    fn new(path: &Path, kind: impl Into<StoreErrorKind>) -> StoreError {
        StoreError {
            path: path.to_path_buf(),
            kind: kind.into(),
        }
    }

    /// A value of the state database in `data_dir` that cannot be encoded.
    pub(crate) fn encode(data_dir: &Path, e: impl std::fmt::Display) -> StoreError {
        StoreError::new(&state_path(data_dir), StoreErrorKind::Encode(e.to_string()))
    }
}

/// Runs a blocking read of the state database in `data_dir` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    data_dir: &Path,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| StoreError::new(&state_path(data_dir), StoreErrorKind::WriterGone))?
}

/// Quota usage to add along with a journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuotaCount {
    pub customer_id: String,
    pub day: NaiveDate,
    /// The quota's epoch when counted (see `QuotaCheck::Counted`).
    pub epoch: u64,
}

/// Non-journal writes, serialised through the writer to keep one writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    SetQuotaUsed {
        customer_id: String,
        day: NaiveDate,
        used: u32,
        /// The epoch this value opens (counts of earlier epochs arriving later are skipped).
        epoch: u64,
    },
    SetSetting {
        key: String,
        value: Option<String>,
    },
    /// Empties journal and quota usage and every persisted setting (and the balikan ledger),
    /// but the configuration people were handed (keys starting with one of
    /// [`KEPT_SETTING_PREFIXES`]).
    Reset,
    /// One institution's scoped reset: its journal rows, quota counts (also those counted under
    /// `quota_ids`, e.g. its Web Portal's), lookups and ledger entries, and the persisted
    /// settings `keys` (its switches, clock, canary residents, portal accounts).
    ResetInstitution {
        customer_id: String,
        quota_ids: Vec<String>,
        keys: Vec<String>,
    },
    /// Several commands committed together (one admin request's writes).
    Batch(Vec<Command>),
}

/// What the writer tells each message's sender: committed, or why not.
type Committed = Result<(), Arc<rusqlite::Error>>;

enum Msg {
    Journal {
        row: Box<JournalRow>,
        /// The row's elements already joined (`row.elements` is then empty and ignored).
        elements: Option<String>,
        quota: Option<QuotaCount>,
        /// Balikan ledger entries committed with the row (same transaction).
        ledger: Vec<NewEntry>,
        ack: oneshot::Sender<Committed>,
    },
    Command {
        cmd: Command,
        ack: oneshot::Sender<Committed>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// The key prefix of the hashes of issued institution admin tokens, which a reset keeps.
pub(crate) const KEPT_SETTING_PREFIX: &str = "admin_token_sha256:";

/// Persisted settings that a reset keeps: they are configuration handed out to people, not
/// sandbox state (issued admin tokens, institutions added or removed through the admin API).
const KEPT_SETTING_PREFIXES: &[&str] = &[
    KEPT_SETTING_PREFIX,
    ADDED_INSTITUTION_PREFIX,
    REMOVED_INSTITUTION_PREFIX,
];

/// The key prefix of institutions added through the admin API, which a reset keeps.
pub(crate) const ADDED_INSTITUTION_PREFIX: &str = "institution_added:";
/// The key prefix marking configured institutions removed through the admin API (kept too).
pub(crate) const REMOVED_INSTITUTION_PREFIX: &str = "institution_removed:";

/// What the state database holds at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub quota_used: HashMap<(String, NaiveDate), u32>,
    pub settings: HashMap<String, String>,
}

/// Sends writes to the writer thread. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Msg>,
    /// The state database, for errors.
    path: Arc<PathBuf>,
    /// Whether journal rows are waited for until committed (`durable_answers`).
    durable: bool,
    /// Gateway calls between reading their request and queueing their row ([`Upcoming`]).
    upcoming: Arc<AtomicUsize>,
}

/// A gateway call whose journal row is on its way: an open batch waits for it (briefly) rather
/// than commit without it. Handed to [`Writer::journal_joined`], or dropped if the call ends
/// without a row.
#[derive(Debug)]
pub(crate) struct Upcoming(Arc<AtomicUsize>);

impl Drop for Upcoming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Journal { .. } => "Journal",
            Msg::Command { .. } => "Command",
            Msg::Shutdown(_) => "Shutdown",
        })
    }
}

/// A queued command's acknowledgement.
#[derive(Debug)]
pub(crate) struct Acked(oneshot::Receiver<Committed>);

/// The writer thread; `shutdown` drains and joins it.
#[derive(Debug)]
pub(crate) struct WriterThread {
    writer: Writer,
    join: Option<std::thread::JoinHandle<()>>,
    /// Dropped to stop the checkpointer, which is joined before the writer's last checkpoint.
    checkpointer: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

pub(crate) fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("state.sqlite")
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::new(path, source)
}

fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sql(path))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=NORMAL;
         PRAGMA busy_timeout=5000;
         CREATE TABLE IF NOT EXISTS journal(
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             time TEXT NOT NULL, wib_day TEXT NOT NULL, endpoint TEXT NOT NULL,
             customer_id TEXT, operator TEXT, nik TEXT, outcome TEXT NOT NULL,
             http_status INTEGER NOT NULL, elements TEXT NOT NULL, source TEXT,
             latency_us INTEGER NOT NULL, fault TEXT, detail TEXT);
         CREATE TABLE IF NOT EXISTS quota_usage(
             customer_id TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL,
             PRIMARY KEY(customer_id, day));
         CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         -- The balikan check (never looked up) once asked the journal through this index; the
         -- lookup ledger below answers it now. Maintaining it cost every journal insert a
         -- random-key B-tree write that grew with the journal (throughput fell as it filled).
         DROP INDEX IF EXISTS journal_customer_nik;",
    )
    .map_err(sql(path))?;
    conn.execute_batch(LEDGER_SCHEMA).map_err(sql(path))?;
    // `conformance` came with the free key policy; a ledger written before it gets the column
    // (NULL: the entry conformed, as only conforming entries were accepted then).
    let has_conformance = any_row(
        &conn,
        "SELECT count(*) FROM pragma_table_info('balikan_ledger') WHERE name = 'conformance'",
    )
    .map_err(sql(path))?;
    if !has_conformance {
        conn.execute_batch("ALTER TABLE balikan_ledger ADD COLUMN conformance TEXT")
            .map_err(sql(path))?;
    }
    // The lookup ledger: which NIKs each institution has looked up, for the balikan "never
    // looked up" flag. Not pruned by the journal's caps (one short row per institution and
    // NIK); filled from the journal once, when it is created on an existing database.
    let existed = any_row(
        &conn,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lookups'",
    )
    .map_err(sql(path))?;
    if !existed {
        conn.execute_batch(&format!(
            "BEGIN;
             CREATE TABLE lookups(customer_id TEXT NOT NULL, nik TEXT NOT NULL,
                 PRIMARY KEY(customer_id, nik)) WITHOUT ROWID;
             INSERT OR IGNORE INTO lookups(customer_id, nik)
                 SELECT DISTINCT customer_id, trim(nik) FROM journal
                 WHERE customer_id IS NOT NULL AND nik IS NOT NULL AND {LOOKUP_ROW};
             COMMIT;"
        ))
        .map_err(sql(path))?;
    }
    Ok(conn)
}

/// Whether a `SELECT count(*) ...` of the schema counts anything (migration checks).
fn any_row(conn: &Connection, count_sql: &str) -> rusqlite::Result<bool> {
    conn.query_row(count_sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
}

/// A journal row that is a lookup reaching the population (found, deceased, duplicate, not
/// found, inactive), by web service or in the Web Portal.
const LOOKUP_ROW: &str = "endpoint IN ('CALL_NIK', 'CALL_VERIFY_BY_ELEMEN', 'PORTAL')
     AND outcome IN ('01','11','12','13','14')";

/// The journal endpoints that read a resident by NIK: the two gateway services and a Web
/// Portal search (`PORTAL`). [`LOOKUP_ROW`] and the usage and detector queries say the same.
pub(crate) fn reads_resident(endpoint: &str) -> bool {
    matches!(endpoint, "CALL_NIK" | "CALL_VERIFY_BY_ELEMEN" | "PORTAL")
}

/// The balikan ledger: one row per institution, NIK and distinct set of values. The unique key
/// makes a repeat impossible even if two processes shared the file; the intake checks for
/// repeats before it writes.
const LEDGER_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS balikan_ledger(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        nik TEXT NOT NULL,
        method TEXT NOT NULL,
        row_no INTEGER NOT NULL,
        values_json TEXT NOT NULL,
        never_looked_up INTEGER NOT NULL,
        conformance TEXT,
        UNIQUE(customer_id, nik, values_json));
    CREATE INDEX IF NOT EXISTS balikan_ledger_nik ON balikan_ledger(nik);";

/// What the writer keeps the state database within (`journal_cap` and `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Journal rows kept.
    pub journal_rows: u64,
    /// Journal bytes kept (sum of [`row_bytes`]).
    pub journal_bytes: u64,
    /// Longest text field of a journal row; longer ones are cut with a marker.
    pub field_bytes: usize,
    /// Balikan ledger entries kept.
    pub ledger_rows: u64,
}

impl Caps {
    #[cfg(test)]
    pub(crate) fn rows(journal_rows: u64) -> Caps {
        let d = crate::config::Limits::default();
        Caps {
            journal_rows,
            journal_bytes: d.journal_max_bytes,
            field_bytes: d.field_max_bytes,
            ledger_rows: d.ledger_max_rows,
        }
    }
}

/// Bytes a journal row counts against the budget: its text plus a fixed overhead (the same
/// measure as [`ROW_BYTES_SQL`]).
const ROW_OVERHEAD: u64 = 64;
const ROW_BYTES_SQL: &str =
    "(64 + octet_length(time) + octet_length(wib_day) + octet_length(endpoint)
     + coalesce(octet_length(customer_id), 0) + coalesce(octet_length(operator), 0)
     + coalesce(octet_length(nik), 0) + octet_length(outcome) + octet_length(elements)
     + coalesce(octet_length(source), 0) + coalesce(octet_length(fault), 0)
     + coalesce(octet_length(detail), 0))";

fn row_bytes(row: &CutRow<'_>) -> u64 {
    let opt = |v: &Option<Cow<'_, str>>| v.as_ref().map_or(0, |t| t.len());
    ROW_OVERHEAD
        + (row.time.len()
            + row.wib_day.len()
            + row.endpoint.len()
            + opt(&row.customer_id)
            + opt(&row.operator)
            + opt(&row.nik)
            + row.outcome.len()
            + row.elements.len()
            + opt(&row.source)
            + opt(&row.fault)
            + opt(&row.detail)) as u64
}

/// A text field cut to `max` bytes (at a character boundary) with a marker naming its full
/// length, so a hostile 60 KB field costs the journal a few KB.
pub(crate) fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(48).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}…[dipotong: {} byte]", &text[..end], text.len()))
}

/// Opens (creating) the state database, reads what it holds and starts the writer thread.
#[cfg(test)]
pub(crate) fn open(
    data_dir: &Path,
    journal_cap: u64,
) -> Result<(WriterThread, Loaded), StoreError> {
    open_with(data_dir, Caps::rows(journal_cap), false)
}

/// An existing state database that is empty or another application's is an error, never
/// silently started afresh (or written into).
fn check_existing(path: &Path) -> Result<(), StoreError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.len() == 0 {
        return Err(StoreError::new(path, StoreErrorKind::Empty));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sql(path))?;
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .map_err(sql(path))?;
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .map_err(sql(path))?
        .collect::<Result<_, _>>()
        .map_err(sql(path))?;
    if !tables.is_empty() && !tables.iter().any(|t| t == "journal") {
        return Err(StoreError::new(
            path,
            StoreErrorKind::Foreign(tables.join(", ")),
        ));
    }
    Ok(())
}

/// [`open`] with every cap; `fresh`: an empty or foreign state file is moved aside (logged)
/// instead of refused.
pub(crate) fn open_with(
    data_dir: &Path,
    caps: Caps,
    fresh: bool,
) -> Result<(WriterThread, Loaded), StoreError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| StoreError::new(data_dir, StoreErrorKind::Dir(e)))?;
    let path = state_path(data_dir);
    if let Err(e) = check_existing(&path) {
        if !fresh {
            return Err(e);
        }
        let aside = path.with_extension(format!(
            "sqlite.bad-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        ));
        std::fs::rename(&path, &aside)
            .map_err(|e| StoreError::new(&path, StoreErrorKind::Dir(e)))?;
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{side}", path.display()));
        }
        tracing::warn!(path = %path.display(), moved_to = %aside.display(), problem = %e.kind, "--fresh-state: state database moved aside, starting a new one");
    }
    let conn = open_rw(&path)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint=0;")
        .map_err(sql(&path))?;
    let loaded = load(&conn).map_err(sql(&path))?;
    let bytes: i64 = conn
        .query_row(
            &format!("SELECT coalesce(sum({ROW_BYTES_SQL}), 0) FROM journal"),
            [],
            |r| r.get(0),
        )
        .map_err(sql(&path))?;
    let caps = Caps {
        journal_rows: caps.journal_rows.max(1),
        journal_bytes: caps.journal_bytes.max(1),
        field_bytes: caps.field_bytes.max(64),
        ledger_rows: caps.ledger_rows.max(1),
    };
    let checkpoints = Connection::open(&path).map_err(sql(&path))?;
    checkpoints
        .busy_timeout(Duration::from_secs(5))
        .map_err(sql(&path))?;
    let db_file =
        std::fs::File::open(&path).map_err(|e| StoreError::new(&path, StoreErrorKind::Dir(e)))?;
    let (stop, stopped) = mpsc::channel();
    let checkpoint_path = path.clone();
    let checkpointer = std::thread::Builder::new()
        .name("wal-checkpointer".into())
        .spawn(move || checkpointer_loop(&checkpoints, &db_file, &stopped, &checkpoint_path))
        .map_err(|e| StoreError::new(data_dir, StoreErrorKind::Dir(e)))?;
    let (tx, rx) = mpsc::channel();
    let upcoming = Arc::new(AtomicUsize::new(0));
    let waited_for = Arc::clone(&upcoming);
    let shared = Arc::new(path.clone());
    let join = std::thread::Builder::new()
        .name("journal-writer".into())
        .spawn(move || {
            let mut budget = Budget {
                caps,
                journal_bytes: u64::try_from(bytes).unwrap_or(0),
                epochs: HashMap::new(),
                looked_up: LookedUp::default(),
            };
            writer_loop(conn, rx, &waited_for, &mut budget, path)
        })
        .map_err(|e| StoreError::new(data_dir, StoreErrorKind::Dir(e)))?;
    Ok((
        WriterThread {
            writer: Writer {
                tx,
                path: shared,
                durable: true,
                upcoming,
            },
            join: Some(join),
            checkpointer: Some((stop, checkpointer)),
        },
        loaded,
    ))
}

fn load(conn: &Connection) -> rusqlite::Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut st = conn.prepare("SELECT customer_id, day, used FROM quota_usage")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
        ))
    })?;
    for row in rows {
        let (cid, day, used) = row?;
        if let Ok(day) = day.parse::<NaiveDate>() {
            loaded.quota_used.insert((cid, day), used);
        }
    }
    let mut st = conn.prepare("SELECT key, value FROM settings")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (k, v) = row?;
        loaded.settings.insert(k, v);
    }
    Ok(loaded)
}

impl WriterThread {
    pub(crate) fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// Commits everything queued so far, then stops the thread.
    pub(crate) async fn shutdown(mut self) {
        if let Some((stop, join)) = self.checkpointer.take() {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || join.join()).await;
        }
        let (ack, done) = oneshot::channel();
        if self.writer.tx.send(Msg::Shutdown(ack)).is_ok() {
            let _ = done.await;
        }
        if let Some(join) = self.join.take() {
            let _ = tokio::task::spawn_blocking(move || join.join()).await;
        }
    }
}

impl Writer {
    /// This writer with journal rows queued but not waited for (`durable_answers = false`, the
    /// benchmark's no-durability reference). Commands are still waited for.
    pub(crate) fn without_waiting(self) -> Writer {
        Writer {
            durable: false,
            ..self
        }
    }

    /// Announces a gateway call whose row will follow (see [`Upcoming`]).
    pub(crate) fn upcoming(&self) -> Upcoming {
        self.upcoming.fetch_add(1, Ordering::AcqRel);
        Upcoming(Arc::clone(&self.upcoming))
    }

    /// [`Writer::journal`] for a gateway call, its announcement (if any) ending once the row is
    /// queued. The elements come joined with commas: one string, not one per element (a row is
    /// freed on the writer's thread, and every allocation freed there is a cross-thread free).
    pub(crate) async fn journal_joined(
        &self,
        row: JournalRow,
        elements: String,
        quota: Option<QuotaCount>,
        upcoming: Option<Upcoming>,
    ) -> Result<(), StoreError> {
        let row = JournalRow {
            elements: Vec::new(),
            ..row
        };
        let queued = self.send_journal(row, Some(elements), quota, Vec::new());
        drop(upcoming);
        self.wait_journal(queued?).await
    }

    /// Queues a journal row (and a quota count) and waits until it is committed.
    pub(crate) async fn journal(
        &self,
        row: JournalRow,
        quota: Option<QuotaCount>,
    ) -> Result<(), StoreError> {
        self.journal_with(row, quota, Vec::new()).await
    }

    /// Queues a journal row with the balikan ledger entries of its request: both are committed
    /// in one transaction, or neither.
    pub(crate) async fn journal_with(
        &self,
        row: JournalRow,
        quota: Option<QuotaCount>,
        ledger: Vec<NewEntry>,
    ) -> Result<(), StoreError> {
        let queued = self.send_journal(row, None, quota, ledger)?;
        self.wait_journal(queued).await
    }

    fn send_journal(
        &self,
        row: JournalRow,
        elements: Option<String>,
        quota: Option<QuotaCount>,
        ledger: Vec<NewEntry>,
    ) -> Result<oneshot::Receiver<Committed>, StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Journal {
                row: Box::new(row),
                elements,
                quota,
                ledger,
                ack,
            })
            .map_err(|_| StoreError::new(&self.path, StoreErrorKind::WriterGone))?;
        Ok(done)
    }

    async fn wait_journal(&self, done: oneshot::Receiver<Committed>) -> Result<(), StoreError> {
        if !self.durable {
            return Ok(());
        }
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::new(&self.path, StoreErrorKind::Commit(e))),
            Err(_) => Err(StoreError::new(&self.path, StoreErrorKind::WriterGone)),
        }
    }

    /// Queues a command; [`Writer::acked`] waits for its commit.
    pub(crate) fn queue(&self, cmd: Command) -> Result<Acked, StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Command { cmd, ack })
            .map_err(|_| StoreError::new(&self.path, StoreErrorKind::WriterGone))?;
        Ok(Acked(done))
    }

    /// Waits until a queued command is committed.
    pub(crate) async fn acked(&self, queued: Acked) -> Result<(), StoreError> {
        match queued.0.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::new(&self.path, StoreErrorKind::Commit(e))),
            Err(_) => Err(StoreError::new(&self.path, StoreErrorKind::WriterGone)),
        }
    }

    /// Runs a command in the writer and waits until it is committed.
    pub(crate) async fn command(&self, cmd: Command) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Command { cmd, ack })
            .map_err(|_| StoreError::new(&self.path, StoreErrorKind::WriterGone))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::new(&self.path, StoreErrorKind::Commit(e))),
            Err(_) => Err(StoreError::new(&self.path, StoreErrorKind::WriterGone)),
        }
    }
}

/// The caps and the journal's bytes as the writer counts them.
#[derive(Debug)]
struct Budget {
    caps: Caps,
    journal_bytes: u64,
    /// The quota epoch of each (customer id, WIB day) set since start.
    epochs: HashMap<(String, NaiveDate), u64>,
    /// NIKs this writer has put in the lookup ledger, by institution: a repeat lookup skips the
    /// ledger's `INSERT OR IGNORE`. Forgotten when a command runs (resets delete ledger rows), a
    /// commit fails, or it holds [`LOOKUPS_REMEMBERED`] NIKs.
    looked_up: LookedUp,
}

/// Most NIKs [`Budget::looked_up`] holds (about 60 bytes each).
const LOOKUPS_REMEMBERED: usize = 200_000;

/// NIKs by institution, with their count kept (not summed over the institutions per insert).
#[derive(Debug, Default)]
struct LookedUp {
    niks: HashMap<String, HashSet<String>>,
    count: usize,
}

impl LookedUp {
    fn contains(&self, customer_id: &str, nik: &str) -> bool {
        self.niks
            .get(customer_id)
            .is_some_and(|niks| niks.contains(nik))
    }

    /// Remembers a NIK, first forgetting all of them once [`LOOKUPS_REMEMBERED`] are held.
    fn insert(&mut self, customer_id: &str, nik: &str) {
        if self.count >= LOOKUPS_REMEMBERED {
            self.clear();
        }
        let niks = self.niks.entry(customer_id.to_string()).or_default();
        if niks.insert(nik.to_string()) {
            self.count += 1;
        }
    }

    fn clear(&mut self) {
        self.niks.clear();
        self.count = 0;
    }
}

fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Msg>,
    upcoming: &AtomicUsize,
    budget: &mut Budget,
    path: PathBuf,
) {
    let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = match rx.recv() {
            Ok(m) => m,
            Err(_) => return,
        };
        batch.push(first);
        let opened = Instant::now();
        // Group commit: take what is queued, and keep waiting only while a gateway call is on
        // its way (its row follows within microseconds) and the batch is young. A lone caller
        // commits at once; a busy server gathers big batches.
        loop {
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            if batch.len() >= MAX_BATCH
                || opened.elapsed() >= MAX_BATCH_WAIT
                || upcoming.load(Ordering::Acquire) == 0
            {
                break;
            }
            // A sleep, not a blocking receive: a sender that finds the writer blocked must wake
            // it, a syscall per row that cost 10-25% of throughput at 64-256 connections.
            std::thread::sleep(POLL);
        }
        let before = budget.journal_bytes;
        let result = commit(&mut conn, &batch, budget).map_err(|e| {
            budget.journal_bytes = before;
            budget.looked_up.clear();
            tracing::error!(path = %path.display(), error = %e, "journal commit failed");
            Arc::new(e)
        });
        let mut stop = None;
        for m in batch.drain(..) {
            match m {
                Msg::Journal { ack, .. } | Msg::Command { ack, .. } => {
                    let _ = ack.send(result.clone());
                }
                Msg::Shutdown(ack) => stop = Some(ack),
            }
        }
        if let Some(ack) = stop {
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
            let _ = ack.send(());
            return;
        }
    }
}

/// Every [`CHECKPOINT_EVERY`], a passive checkpoint: it copies committed log pages into the
/// database without waiting for (or blocking) the writer. Under steady load it never catches up
/// completely (the writer appends while it copies), so the log cannot start over by itself. Once
/// the log passes [`WAL_BOUND_PAGES`], a `RESTART` checkpoint holds the writer while it copies the
/// rest, syncs the database file and starts the log over. Before it, the pages the passive rounds
/// wrote are synced here (`sync_data` on the database file, outside every SQLite lock) and one
/// more passive round copies what came meanwhile, so the writer waits only for the last few
/// pages. Ends when `stop` is dropped.
fn checkpointer_loop(
    conn: &Connection,
    db_file: &std::fs::File,
    stop: &mpsc::Receiver<()>,
    path: &Path,
) {
    let checkpoint = |mode: &str| {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            r.get::<_, i64>(1)
        })
    };
    let warn = |mode: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(path = %path.display(), error = %e, mode, "WAL checkpoint failed");
    };
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        match checkpoint("PASSIVE") {
            Ok(log_pages) if log_pages > WAL_BOUND_PAGES => {}
            Ok(_) => continue,
            Err(e) => {
                warn("PASSIVE", &e);
                continue;
            }
        }
        if let Err(e) = db_file.sync_data() {
            warn("sync", &e);
        }
        if let Err(e) = checkpoint("PASSIVE") {
            warn("PASSIVE", &e);
        }
        if let Err(e) = checkpoint("RESTART") {
            warn("RESTART", &e);
        }
    }
}

/// The bytes of the journal rows past the row cap (bound: the cap), before they are deleted.
static CAPPED_BYTES_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT coalesce(sum({ROW_BYTES_SQL}), 0) FROM journal
         WHERE id <= (SELECT MAX(id) FROM journal) - ?1"
    )
});

/// Writes `batch` in one transaction. `BEGIN`, `COMMIT` and every per-batch statement are
/// cached: a batch is often a handful of rows, and preparing them anew for each one
/// (`Connection::transaction`, `execute`) was 4% of the mock's CPU under lookups.
fn commit(conn: &mut Connection, batch: &[Msg], budget: &mut Budget) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let written = write_batch(conn, batch, budget)
        .and_then(|()| conn.prepare_cached("COMMIT")?.execute([]).map(drop));
    if written.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    written
}

fn write_batch(tx: &Connection, batch: &[Msg], budget: &mut Budget) -> rusqlite::Result<()> {
    let caps = budget.caps;
    let mut ledgered = false;
    let mut journaled = false;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO journal(time, wib_day, endpoint, customer_id, operator, nik, outcome, http_status,
                                 elements, source, latency_us, fault, detail)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut lookup =
            tx.prepare_cached("INSERT OR IGNORE INTO lookups(customer_id, nik) VALUES(?1, ?2)")?;
        let mut count = tx.prepare_cached(
            "INSERT INTO quota_usage(customer_id, day, used) VALUES(?1, ?2, ?3)
             ON CONFLICT(customer_id, day) DO UPDATE SET used = used + excluded.used",
        )?;
        // The batch's counts, one upsert per institution and day: written before any command
        // (a quota set must land after the counts that preceded it) and at the end.
        let mut counts: Vec<(&str, NaiveDate, u32)> = Vec::new();
        let mut flush = |counts: &mut Vec<(&str, NaiveDate, u32)>| -> rusqlite::Result<()> {
            for (customer_id, day, n) in counts.drain(..) {
                count.execute(params![customer_id, day.to_string(), n])?;
            }
            Ok(())
        };
        for m in batch {
            match m {
                Msg::Journal {
                    row,
                    elements,
                    quota,
                    ledger,
                    ..
                } => {
                    journaled = true;
                    if !ledger.is_empty() {
                        ledgered = true;
                        ledger::insert(tx, ledger)?;
                    }
                    let cut = CutRow::new(row, elements.as_deref(), caps.field_bytes);
                    budget.journal_bytes += row_bytes(&cut);
                    insert.execute(params![
                        cut.time,
                        cut.wib_day,
                        cut.endpoint,
                        cut.customer_id,
                        cut.operator,
                        cut.nik,
                        cut.outcome,
                        row.http_status,
                        cut.elements,
                        cut.source,
                        row.latency_us,
                        cut.fault,
                        cut.detail,
                    ])?;
                    if let Some(q) = quota {
                        // Counted before a set that memory applied after it: overtaken.
                        let set_at = budget
                            .epochs
                            .get(&(q.customer_id.clone(), q.day))
                            .copied()
                            .unwrap_or(0);
                        if q.epoch >= set_at {
                            match counts
                                .iter_mut()
                                .find(|(c, d, _)| *c == q.customer_id && *d == q.day)
                            {
                                Some((_, _, n)) => *n += 1,
                                None => counts.push((&q.customer_id, q.day, 1)),
                            }
                        }
                    }
                    let is_lookup = reads_resident(&cut.endpoint)
                        && matches!(&*cut.outcome, "01" | "11" | "12" | "13" | "14");
                    if let (true, Some(cid), Some(nik)) = (is_lookup, &cut.customer_id, &cut.nik) {
                        let nik = nik.trim();
                        // Already in the ledger (this process wrote it): no B-tree probe.
                        if !budget.looked_up.contains(cid, nik) {
                            lookup.execute(params![cid, nik])?;
                            budget.looked_up.insert(cid, nik);
                        }
                    }
                }
                Msg::Command { cmd, .. } => {
                    flush(&mut counts)?;
                    // A command may delete ledger rows (resets): what is remembered is redone.
                    budget.looked_up.clear();
                    if let Command::SetQuotaUsed {
                        customer_id,
                        day,
                        epoch,
                        ..
                    } = cmd
                    {
                        budget.epochs.insert((customer_id.clone(), *day), *epoch);
                    }
                    if matches!(cmd, Command::Reset) {
                        budget.journal_bytes = 0;
                    }
                    run_command(tx, cmd)?;
                    if matches!(cmd, Command::ResetInstitution { .. }) {
                        // Rows of one institution went: measure what the others' still take.
                        let left: i64 = tx.query_row(
                            &format!("SELECT coalesce(sum({ROW_BYTES_SQL}), 0) FROM journal"),
                            [],
                            |r| r.get(0),
                        )?;
                        budget.journal_bytes = u64::try_from(left).unwrap_or(0);
                    }
                }
                Msg::Shutdown(_) => {}
            }
        }
        flush(&mut counts)?;
    }
    if journaled {
        // Rows are numbered without reuse (AUTOINCREMENT), so the cap is one range delete.
        let cap = i64::try_from(caps.journal_rows).unwrap_or(i64::MAX);
        let dropped: i64 = tx
            .prepare_cached(&CAPPED_BYTES_SQL)?
            .query_row(params![cap], |r| r.get(0))?;
        tx.prepare_cached("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?1")?
            .execute(params![cap])?;
        budget.journal_bytes = budget
            .journal_bytes
            .saturating_sub(u64::try_from(dropped).unwrap_or(0));
        trim_to_budget(tx, budget)?;
    }
    if ledgered {
        tx.prepare_cached(
            "DELETE FROM balikan_ledger WHERE id <= (SELECT MAX(id) FROM balikan_ledger) - ?1",
        )?
        .execute(params![i64::try_from(caps.ledger_rows).unwrap_or(i64::MAX)])?;
    }
    Ok(())
}

/// A journal row with every text field cut to `max` bytes, borrowing what needs no cut.
struct CutRow<'a> {
    time: Cow<'a, str>,
    wib_day: Cow<'a, str>,
    endpoint: Cow<'a, str>,
    customer_id: Option<Cow<'a, str>>,
    operator: Option<Cow<'a, str>>,
    nik: Option<Cow<'a, str>>,
    outcome: Cow<'a, str>,
    elements: Cow<'a, str>,
    source: Option<Cow<'a, str>>,
    fault: Option<Cow<'a, str>>,
    detail: Option<Cow<'a, str>>,
}

impl<'a> CutRow<'a> {
    /// `elements`: the row's elements already joined, if they come so.
    fn new(row: &'a JournalRow, elements: Option<&'a str>, max: usize) -> Self {
        let opt = |v: &'a Option<String>| v.as_deref().map(|t| cut(t, max));
        CutRow {
            time: cut(&row.time, max),
            wib_day: cut(&row.wib_day, max),
            endpoint: cut(&row.endpoint, max),
            customer_id: opt(&row.customer_id),
            operator: opt(&row.operator),
            nik: opt(&row.nik),
            outcome: cut(&row.outcome, max),
            elements: match elements {
                Some(joined) => cut(joined, max),
                None => Cow::Owned(cut(&row.elements.join(","), max).into_owned()),
            },
            source: opt(&row.source),
            fault: opt(&row.fault),
            detail: opt(&row.detail),
        }
    }
}

/// Drops the oldest journal rows while the journal is over its byte budget, down to 90% of it
/// (so that a journal at its budget is not trimmed on every commit).
fn trim_to_budget(tx: &Connection, budget: &mut Budget) -> rusqlite::Result<()> {
    let max = budget.caps.journal_bytes;
    if budget.journal_bytes <= max {
        return Ok(());
    }
    let goal = max - max / 10;
    while budget.journal_bytes > goal {
        let mut st = tx.prepare_cached(&format!(
            "SELECT id, {ROW_BYTES_SQL} FROM journal ORDER BY id LIMIT 256"
        ))?;
        let oldest: Vec<(i64, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if oldest.is_empty() {
            budget.journal_bytes = 0;
            break;
        }
        let mut last = 0;
        for (id, bytes) in oldest {
            last = id;
            budget.journal_bytes = budget
                .journal_bytes
                .saturating_sub(u64::try_from(bytes).unwrap_or(0));
            if budget.journal_bytes <= goal {
                break;
            }
        }
        tx.execute("DELETE FROM journal WHERE id <= ?1", params![last])?;
    }
    Ok(())
}

fn run_command(tx: &Connection, cmd: &Command) -> rusqlite::Result<()> {
    match cmd {
        Command::SetQuotaUsed {
            customer_id,
            day,
            used,
            ..
        } => {
            tx.execute(
                "INSERT INTO quota_usage(customer_id, day, used) VALUES(?1, ?2, ?3)
                 ON CONFLICT(customer_id, day) DO UPDATE SET used = excluded.used",
                params![customer_id, day.to_string(), used],
            )?;
        }
        Command::SetSetting {
            key,
            value: Some(v),
        } => {
            tx.execute(
                "INSERT INTO settings(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?;
        }
        Command::SetSetting { key, value: None } => {
            tx.execute("DELETE FROM settings WHERE key = ?1", params![key])?;
        }
        Command::Batch(cmds) => {
            for c in cmds {
                run_command(tx, c)?;
            }
        }
        Command::Reset => {
            tx.execute_batch("DELETE FROM journal; DELETE FROM quota_usage; DELETE FROM lookups;")?;
            let keep: Vec<String> = KEPT_SETTING_PREFIXES
                .iter()
                .map(|p| format!("substr(key, 1, {}) <> '{p}'", p.len()))
                .collect();
            // The prefixes are constants without quotes: no input reaches this SQL.
            tx.execute(
                &format!("DELETE FROM settings WHERE {}", keep.join(" AND ")),
                [],
            )?;
            ledger::clear(tx)?;
        }
        Command::ResetInstitution {
            customer_id,
            quota_ids,
            keys,
        } => {
            for id in quota_ids {
                tx.execute(
                    "DELETE FROM quota_usage WHERE customer_id = ?1",
                    params![id],
                )?;
            }
            for table in ["journal", "quota_usage", "lookups", "balikan_ledger"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE customer_id = ?1"),
                    params![customer_id],
                )?;
            }
            for key in keys {
                tx.execute("DELETE FROM settings WHERE key = ?1", params![key])?;
            }
        }
    }
    Ok(())
}

/// Filters of a journal query; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JournalFilter {
    pub limit: u32,
    pub customer_id: Option<String>,
    pub operator: Option<String>,
    pub nik: Option<String>,
    /// Outcome code as journaled (`01`..`17`, or `ERR`).
    pub outcome: Option<String>,
    pub endpoint: Option<String>,
    /// Rows at or after this instant (UTC, RFC 3339 with microseconds, as journaled).
    pub since: Option<String>,
    /// Rows strictly before this instant.
    pub until: Option<String>,
    /// Paging forward: rows with a larger id, oldest first (otherwise newest first).
    pub after_id: Option<i64>,
    /// Paging backward: rows with a smaller id (newest first).
    pub before_id: Option<i64>,
}

/// Reads journal rows, newest first, through a fresh read-only connection (WAL lets it run
/// beside the writer). Blocking: call from `spawn_blocking`.
pub(crate) fn query_journal(
    data_dir: &Path,
    filter: &JournalFilter,
) -> Result<Vec<JournalRow>, StoreError> {
    let path = state_path(data_dir);
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sql(&path))?;
    // Forward paging reads oldest first so that the last row's id is the next `after_id`.
    let order = if filter.after_id.is_some() {
        "ASC"
    } else {
        "DESC"
    };
    let mut st = conn
        .prepare_cached(&format!(
            "SELECT id, time, wib_day, endpoint, customer_id, operator, nik, outcome, http_status, elements,
                    source, latency_us, fault, detail
             FROM journal
             WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR operator = ?2) AND (?3 IS NULL OR nik = ?3)
               AND (?4 IS NULL OR outcome = ?4) AND (?5 IS NULL OR endpoint = ?5)
               AND (?6 IS NULL OR time >= ?6) AND (?7 IS NULL OR time < ?7)
               AND (?8 IS NULL OR id > ?8) AND (?9 IS NULL OR id < ?9)
             ORDER BY id {order} LIMIT ?10"
        ))
        .map_err(sql(&path))?;
    let rows = st
        .query_map(
            params![
                filter.customer_id,
                filter.operator,
                filter.nik,
                filter.outcome,
                filter.endpoint,
                filter.since,
                filter.until,
                filter.after_id,
                filter.before_id,
                filter.limit
            ],
            |r| {
                let elements: String = r.get(9)?;
                Ok(JournalRow {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    wib_day: r.get(2)?,
                    endpoint: r.get(3)?,
                    customer_id: r.get(4)?,
                    operator: r.get(5)?,
                    nik: r.get(6)?,
                    outcome: r.get(7)?,
                    http_status: r.get(8)?,
                    elements: if elements.is_empty() {
                        vec![]
                    } else {
                        elements.split(',').map(String::from).collect()
                    },
                    source: r.get(10)?,
                    latency_us: r.get(11)?,
                    fault: r.get(12)?,
                    detail: r.get(13)?,
                })
            },
        )
        .map_err(sql(&path))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql(&path))
}

/// Journal rows of gateway calls counted per institution, operator, WIB day, endpoint and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageCount {
    pub customer_id: String,
    pub operator: Option<String>,
    pub day: String,
    pub endpoint: String,
    pub outcome: String,
    pub count: u64,
}

/// Counts `CALL_NIK`, `CALL_VERIFY_BY_ELEMEN` and `PORTAL` rows whose WIB day is within `from..=to`
/// (`YYYY-MM-DD`), optionally of one institution. Blocking: call from `spawn_blocking`.
pub(crate) fn usage_counts(
    data_dir: &Path,
    from: &str,
    to: &str,
    customer_id: Option<&str>,
) -> Result<Vec<UsageCount>, StoreError> {
    let path = state_path(data_dir);
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sql(&path))?;
    let mut st = conn
        .prepare_cached(
            "SELECT customer_id, operator, wib_day, endpoint, outcome, COUNT(*) FROM journal
             WHERE endpoint IN ('CALL_NIK', 'CALL_VERIFY_BY_ELEMEN', 'PORTAL')
               AND customer_id IS NOT NULL AND wib_day >= ?1 AND wib_day <= ?2 AND (?3 IS NULL OR customer_id = ?3)
             GROUP BY customer_id, operator, wib_day, endpoint, outcome
             ORDER BY customer_id, wib_day, operator, endpoint, outcome",
        )
        .map_err(sql(&path))?;
    let rows = st
        .query_map(params![from, to, customer_id], |r| {
            Ok(UsageCount {
                customer_id: r.get(0)?,
                operator: r.get(1)?,
                day: r.get(2)?,
                endpoint: r.get(3)?,
                outcome: r.get(4)?,
                count: r.get::<_, i64>(5)?.max(0) as u64,
            })
        })
        .map_err(sql(&path))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql(&path))
}

/// A journaled lookup, verification or portal search with a NIK: (time, customer id, operator, NIK as sent).
pub(crate) type LookupRow = (String, String, Option<String>, String);

/// The journal's lookups (oldest first, at most `limit`), optionally of one institution and from
/// an instant on, for the rule-8 detector. Blocking: call from `spawn_blocking`.
pub(crate) fn lookups(
    data_dir: &Path,
    customer_id: Option<&str>,
    since: Option<&str>,
    limit: u32,
) -> Result<Vec<LookupRow>, StoreError> {
    let path = state_path(data_dir);
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sql(&path))?;
    let mut st = conn
        .prepare_cached(
            "SELECT time, customer_id, operator, nik FROM journal
             WHERE endpoint IN ('CALL_NIK', 'CALL_VERIFY_BY_ELEMEN', 'PORTAL')
               AND customer_id IS NOT NULL AND nik IS NOT NULL
               AND (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR time >= ?2)
             ORDER BY id LIMIT ?3",
        )
        .map_err(sql(&path))?;
    let rows = st
        .query_map(params![customer_id, since, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(sql(&path))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's first ten rows.
    fn first_rows(data_dir: &Path) -> Vec<JournalRow> {
        let filter = JournalFilter {
            limit: 10,
            ..Default::default()
        };
        query_journal(data_dir, &filter).unwrap()
    }

    fn row(nik: &str) -> JournalRow {
        JournalRow {
            id: 0,
            time: "2026-01-01T00:00:00Z".into(),
            wib_day: "2026-01-01".into(),
            endpoint: "CALL_NIK".into(),
            customer_id: Some("rsud_3313".into()),
            operator: None,
            nik: Some(nik.into()),
            outcome: "01".into(),
            http_status: 200,
            elements: vec!["NIK".into(), "NAMA_LGKP".into()],
            source: Some("127.0.0.1".into()),
            latency_us: 10,
            fault: None,
            detail: None,
        }
    }

    /// A state database from before the lookup ledger (journal rows included, the old journal
    /// index too) gains the ledger, filled from the journal's lookups, and loses the index.
    #[tokio::test]
    async fn lookup_ledger_is_filled_from_an_existing_journal_and_the_old_index_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = Connection::open(state_path(dir.path())).unwrap();
            old.execute_batch(
                "CREATE TABLE journal(
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     time TEXT NOT NULL, wib_day TEXT NOT NULL, endpoint TEXT NOT NULL,
                     customer_id TEXT, operator TEXT, nik TEXT, outcome TEXT NOT NULL,
                     http_status INTEGER NOT NULL, elements TEXT NOT NULL, source TEXT,
                     latency_us INTEGER NOT NULL, fault TEXT, detail TEXT);
                 CREATE INDEX journal_customer_nik ON journal(customer_id, trim(nik));
                 INSERT INTO journal(time, wib_day, endpoint, customer_id, nik, outcome,
                     http_status, elements, latency_us)
                 VALUES('2026-01-01T00:00:00Z', '2026-01-01', 'CALL_NIK', 'rsud_3313',
                     ' 3313014107890003', '01', 200, '[]', 1),
                       ('2026-01-01T00:00:01Z', '2026-01-01', 'CALL_NIK', 'rsud_3313',
                     '3313014107890011', '03', 200, '[]', 1);",
            )
            .unwrap();
        }
        let (w, _) = open(dir.path(), 100).unwrap();
        w.shutdown().await;
        let conn = Connection::open(state_path(dir.path())).unwrap();
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'journal_customer_nik'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "the journal index is dropped");
        let niks = [
            "3313014107890003".to_string(),
            "3313014107890011".to_string(),
        ];
        let known = ledger::known(dir.path(), "rsud_3313", &niks).unwrap();
        // Found (trimmed as the ledger keeps it); a refused login (03) is no lookup.
        assert!(known.looked_up.contains("3313014107890003"), "{known:?}");
        assert!(!known.looked_up.contains("3313014107890011"), "{known:?}");
    }

    /// A ledger written before the free key policy gets the `conformance` column; its entries
    /// read back as conforming.
    #[tokio::test]
    async fn an_older_ledger_gains_the_conformance_column() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (w, _) = open(dir.path(), 100).unwrap();
            w.shutdown().await;
            let conn = Connection::open(state_path(dir.path())).unwrap();
            conn.execute_batch(
                "DROP TABLE balikan_ledger;
                 CREATE TABLE balikan_ledger(id INTEGER PRIMARY KEY AUTOINCREMENT,
                     time TEXT NOT NULL, customer_id TEXT NOT NULL, nik TEXT NOT NULL,
                     method TEXT NOT NULL, row_no INTEGER NOT NULL, values_json TEXT NOT NULL,
                     never_looked_up INTEGER NOT NULL, UNIQUE(customer_id, nik, values_json));
                 INSERT INTO balikan_ledger(time, customer_id, nik, method, row_no, values_json,
                     never_looked_up)
                 VALUES('2026-01-01T00:00:00Z', 'rsud_3313', '3313014107890003', 'store', 1,
                     '{\"NO_RM\":\"RM-1\"}', 0);",
            )
            .unwrap();
        }
        let (w, _) = open(dir.path(), 100).unwrap();
        w.shutdown().await;
        let entries = ledger::query(
            dir.path(),
            &ledger::LedgerFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].values["NO_RM"], "RM-1");
        assert!(entries[0].unknown_keys.is_empty() && entries[0].missing.is_empty());
    }

    #[tokio::test]
    async fn cap_drops_oldest_and_quota_persists() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let (w, loaded) = open(dir.path(), 3).unwrap();
        assert!(loaded.quota_used.is_empty());
        let writer = w.writer();
        let mut tasks = Vec::new();
        for i in 0..5 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let q = QuotaCount {
                    customer_id: "rsud_3313".into(),
                    day,
                    epoch: 0,
                };
                writer
                    .journal(row(&format!("nik{i}")), Some(q))
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        w.shutdown().await;
        let rows = first_rows(dir.path());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].elements, vec!["NIK", "NAMA_LGKP"]);
        let (_w, loaded) = open(dir.path(), 3).unwrap();
        assert_eq!(loaded.quota_used[&("rsud_3313".to_string(), day)], 5);
    }

    /// The "never looked up" flag is decided from the lookup ledger, which the journal cap
    /// does not prune: a lookup dropped from the journal still counts.
    /// Counts of one batch go in as one upsert, yet in order around a quota set queued between
    /// them: the set replaces what came before it, what comes after adds to it.
    #[tokio::test]
    async fn batched_counts_keep_their_order_around_a_quota_set() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let (w, _) = open(dir.path(), 100).unwrap();
        let writer = w.writer();
        let q = |epoch| {
            Some(QuotaCount {
                customer_id: "rsud_3313".into(),
                day,
                epoch,
            })
        };
        // Queued without waiting in between, so that they share batches.
        let mut pending = vec![
            writer
                .send_journal(row("3313014107890003"), None, q(0), vec![])
                .unwrap(),
            writer
                .send_journal(row("3313014107890003"), None, q(0), vec![])
                .unwrap(),
        ];
        let set = writer
            .queue(Command::SetQuotaUsed {
                customer_id: "rsud_3313".into(),
                day,
                used: 10,
                epoch: 1,
            })
            .unwrap();
        pending.push(
            writer
                .send_journal(row("3313014107890003"), None, q(1), vec![])
                .unwrap(),
        );
        pending.push(
            writer
                .send_journal(row("3313010101700001"), None, q(1), vec![])
                .unwrap(),
        );
        for p in pending {
            writer.wait_journal(p).await.unwrap();
        }
        writer.acked(set).await.unwrap();
        w.shutdown().await;
        let (_w, loaded) = open(dir.path(), 100).unwrap();
        assert_eq!(loaded.quota_used[&("rsud_3313".to_string(), day)], 12);
    }

    /// A gateway row comes with its elements joined and an announcement that ends once queued.
    #[tokio::test]
    async fn an_announced_row_is_journaled_with_its_joined_elements() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _) = open(dir.path(), 100).unwrap();
        let writer = w.writer();
        let upcoming = writer.upcoming();
        assert_eq!(writer.upcoming.load(Ordering::Acquire), 1);
        let row = JournalRow {
            elements: vec!["IGNORED".into()],
            ..row("3313014107890003")
        };
        writer
            .journal_joined(row, "NIK,NAMA_LGKP".into(), None, Some(upcoming))
            .await
            .unwrap();
        assert_eq!(writer.upcoming.load(Ordering::Acquire), 0);
        w.shutdown().await;
        let rows = first_rows(dir.path());
        assert_eq!(rows[0].elements, vec!["NIK", "NAMA_LGKP"]);
    }

    /// The writer's memory of ledgered NIKs is bounded: at the cap it starts over.
    #[test]
    fn remembered_lookups_start_over_at_their_cap() {
        let mut seen = LookedUp::default();
        for i in 0..LOOKUPS_REMEMBERED {
            seen.insert(["a", "b"][i % 2], &i.to_string());
        }
        assert_eq!(seen.count, LOOKUPS_REMEMBERED);
        assert!(seen.contains("a", "0") && seen.contains("b", "1"));
        seen.insert("a", "new");
        assert_eq!(seen.count, 1);
        assert!(seen.contains("a", "new") && !seen.contains("a", "0"));
    }

    /// The writer skips the ledger insert for a NIK it has written before, but not after a reset
    /// deleted the ledger.
    #[tokio::test]
    async fn a_lookup_after_a_reset_is_ledgered_again() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _) = open(dir.path(), 100).unwrap();
        let writer = w.writer();
        let niks = ["3313014107890003".to_string()];
        writer.journal(row(&niks[0]), None).await.unwrap();
        writer.journal(row(&niks[0]), None).await.unwrap();
        writer.command(Command::Reset).await.unwrap();
        assert!(ledger::known(dir.path(), "rsud_3313", &niks)
            .unwrap()
            .looked_up
            .is_empty());
        writer.journal(row(&niks[0]), None).await.unwrap();
        w.shutdown().await;
        let known = ledger::known(dir.path(), "rsud_3313", &niks).unwrap();
        assert_eq!(known.looked_up.len(), 1, "{:?}", known.looked_up);
    }

    #[tokio::test]
    async fn lookups_outlive_the_journal_cap() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _) = open(dir.path(), 1).unwrap();
        let writer = w.writer();
        writer.journal(row("3313014107890003"), None).await.unwrap();
        writer.journal(row("3313010101700001"), None).await.unwrap();
        w.shutdown().await;
        let rows = first_rows(dir.path());
        assert_eq!(rows.len(), 1);
        let niks = [
            "3313014107890003".to_string(),
            "3313010101700001".to_string(),
        ];
        let known = ledger::known(dir.path(), "rsud_3313", &niks).unwrap();
        assert_eq!(known.looked_up.len(), 2, "{:?}", known.looked_up);
    }
}
