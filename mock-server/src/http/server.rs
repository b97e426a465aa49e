//! Starting a mock: the start-up shared by `mock-server serve` and the in-process [`Server`]
//! (agreements, population, state database, state), and the builder of the in-process server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dukcapil_domain::{Agreement, AgreementError};
use dukcapil_mock_api::DatasetInfo;
use rand::RngCore;
use tokio::sync::oneshot;

use super::AppState;
use crate::config::Settings;
use crate::core::residents::ResidentSource;
use crate::core::Core;
use crate::db::{
    self, DbSource, PopulationDbError, PopulationReader, PopulationSpec, WriterThread,
};

/// Why a mock did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The agreements directory cannot be used (`file:line: problem`).
    #[error(transparent)]
    Agreements(#[from] AgreementError),
    /// The settings name something the agreements do not have (a portal operator's
    /// institution).
    #[error("{0}")]
    Settings(String),
    /// The population file cannot be made or read.
    #[error(transparent)]
    Population(#[from] PopulationDbError),
    /// The state database cannot be opened.
    #[error("{0}")]
    State(String),
    /// The data directory cannot be created.
    #[error("create data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
}

impl StartError {
    /// Whether the problem is a bad input file (exit code 2), not a runtime failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, StartError::Agreements(_) | StartError::Settings(_))
    }
}

/// Loads the agreements the settings name (or the embedded ones).
///
/// `--agreements DIR` adds the directory's agreements to the embedded ones (a file with the
/// profile id or customer id of an embedded agreement replaces that one); with
/// `--agreements-replace` the directory's are the only ones. Then every settings block
/// `[institutions.<id>]` with `agreement = "<profile id>"` is an institution of its own under
/// that agreement (every puskesmas of a health office): its own customer id, User ID,
/// password, balikan token and (through the usual keys) quota.
pub(crate) fn agreements(settings: &Settings) -> Result<Vec<Agreement>, AgreementError> {
    use crate::core::institutions::OwnInstitution;
    let mut list = Agreement::embedded();
    if let Some(dir) = &settings.agreements {
        let files = Agreement::load_dir(dir)?;
        if settings.agreements_replace {
            list = files;
        } else {
            for a in files {
                list.retain(|e| e.id != a.id && e.customer_id != a.customer_id);
                list.push(a);
            }
        }
    }
    let at = |cid: &str, message: String| AgreementError {
        path: settings.config.clone().unwrap_or_default(),
        line: settings.institution_lines.get(cid).copied(),
        column: None,
        message: format!("[institutions.{cid}]: {message}"),
    };
    let profiles = list.clone();
    for (cid, o) in &settings.institutions {
        let Some(profile) = &o.agreement else {
            if o.name.is_some()
                || o.user_id.is_some()
                || o.password.is_some()
                || o.balikan_token.is_some()
            {
                return Err(at(
                    cid,
                    "name, user_id, password and balikan_token belong to an institution of its own under an agreement: add `agreement = \"<profile id>\"`".into(),
                ));
            }
            continue;
        };
        let own = OwnInstitution {
            profile,
            name: o.name.as_deref(),
            user_id: o.user_id.as_deref(),
            password: o.password.as_deref(),
            balikan_token: o.balikan_token.as_deref(),
            ip_user: o.ip_user.as_deref(),
        };
        let a = own.derive(cid, &profiles, &list).map_err(|m| at(cid, m))?;
        list.push(a);
    }
    Ok(list)
}

/// Every `[[portal_operators]]` entry names an institution of the agreements.
pub(crate) fn check_operators(
    settings: &Settings,
    agreements: &[Agreement],
) -> Result<(), StartError> {
    for (index, op) in settings.portal_operators.iter().enumerate() {
        if !agreements.iter().any(|a| a.customer_id == op.institution) {
            let known: Vec<&str> = agreements.iter().map(|a| a.customer_id.as_str()).collect();
            return Err(StartError::Settings(format!(
                "portal_operators[{index}]: institution `{}` is not a customer id of the agreements ({})",
                op.institution,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn admin_token(settings: &Settings) -> String {
    settings.admin_token.clone().unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
}

/// Generates (once) and opens the population the settings describe; hashes the file.
fn open_population(
    settings: &Settings,
) -> Result<(Arc<dyn ResidentSource>, DatasetInfo), PopulationDbError> {
    let spec = PopulationSpec {
        seed: settings.seed,
        size: settings.population,
    };
    let info = db::ensure_population(&settings.data_dir, spec, true)?;
    let count = PopulationReader::open(&info.path)?.count()?;
    // The file's own hash, so that a result names exactly the dataset it was judged against.
    let sha256 = db::file_sha256(&info.path)?;
    tracing::info!(path = %info.path.display(), residents = count, hash = %info.hash, sha256 = %sha256, "population ready");
    let dataset = DatasetInfo {
        seed: info.seed,
        size: info.size,
        sha256,
    };
    Ok((Arc::new(DbSource::open(&info.path)?), dataset))
}

/// A mock ready to serve: its state, the writer thread to drain at the end, its admin token.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) state: AppState,
    pub(crate) writer: WriterThread,
    pub(crate) token: String,
}

/// Everything before binding: agreements, reference data, population, state database, state.
pub(crate) async fn prepare(settings: Settings) -> Result<Prepared, StartError> {
    let agreements = agreements(&settings)?;
    check_operators(&settings, &agreements)?;
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartError::DataDir {
        path: settings.data_dir.clone(),
        source,
    })?;
    // Generating and hashing the population is blocking work (seconds for large ones); loading
    // the embedded reference data takes a moment too: both before the first call.
    let s = settings.clone();
    let (residents, dataset) = tokio::task::spawn_blocking(move || {
        let _ = dukcapil_domain::Reference::get();
        open_population(&s)
    })
    .await
    .map_err(|e| StartError::State(format!("population task: {e}")))??;
    let limits = &settings.limits;
    let caps = db::Caps {
        journal_rows: settings.journal_cap,
        journal_bytes: limits.journal_max_bytes,
        field_bytes: limits.field_max_bytes,
        ledger_rows: limits.ledger_max_rows,
    };
    let (writer, loaded) = db::open_with(&settings.data_dir, caps, settings.fresh_state)
        .map_err(|e| StartError::State(format!("{e}: {}", e.kind)))?;
    let token = admin_token(&settings);
    let journal_writer = if settings.durable_answers {
        writer.writer()
    } else {
        tracing::warn!("durable_answers = false: answers go out before their journal rows are committed (benchmarks only)");
        writer.writer().without_waiting()
    };
    let state = Core::new(
        settings,
        agreements,
        loaded,
        journal_writer,
        residents,
        dataset,
        token.clone(),
    );
    Ok(Prepared {
        state: state.into(),
        writer,
        token,
    })
}

/// A mock running inside the current process, on `127.0.0.1` and a free port, for a Rust
/// application's own `cargo test` (the style of wiremock's `MockServer`).
///
/// ```no_run
/// # async fn demo() -> Result<(), mock_server::StartError> {
/// let mock = mock_server::Server::builder().population(2_000).seed(1).start().await?;
/// let url = format!("{}/dukcapil/get_json/rsud_3313/CALL_NIK", mock.uri());
/// // Admin calls: `dukcapil_mock_api::Client::new(mock.uri(), mock.admin_token())` (blocking:
/// // use it from `spawn_blocking` or a plain thread inside an async test).
/// # let _ = url;
/// mock.stop().await;
/// # Ok(())
/// # }
/// ```
///
/// Dropping the server stops it too (without waiting for the journal writer).
#[derive(Debug)]
pub struct Server {
    uri: String,
    addr: SocketAddr,
    token: String,
    dataset: DatasetInfo,
    data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    writer: Option<WriterThread>,
    /// The data directory when the builder made one; removed on drop.
    _tmp: Option<tempfile::TempDir>,
}

/// Settings of an in-process [`Server`]; start it with [`ServerBuilder::start`].
#[derive(Debug, Default)]
#[must_use]
pub struct ServerBuilder {
    data_dir: Option<PathBuf>,
    population: Option<u64>,
    seed: Option<u64>,
    agreements: Option<PathBuf>,
    admin_token: Option<String>,
}

impl Server {
    /// A builder with the defaults of `mock-server serve` (10 000 residents, seed 1, embedded
    /// agreements), a fresh temporary data directory and a random admin token.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: the base of the gateway, data-balikan and admin URLs.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token of `/__admin`.
    pub fn admin_token(&self) -> &str {
        &self.token
    }

    /// The population served (what `GET /__admin/dataset` answers).
    pub fn dataset(&self) -> &DatasetInfo {
        &self.dataset
    }

    /// Where the state database and the population live.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops accepting, finishes the requests in flight and commits the journal.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(writer) = self.writer.take() {
            writer.shutdown().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl ServerBuilder {
    /// Keeps the population file and `state.sqlite` in `dir` (created if missing) instead of a
    /// temporary directory; a second server on the same directory finds the journal again.
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Number of residents (generated once per seed and size into the data directory).
    pub fn population(mut self, size: u64) -> Self {
        self.population = Some(size);
        self
    }

    /// Generator seed: the same seed and size always give the same residents.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Loads the agreements from a directory of TOML files instead of the embedded four.
    pub fn agreements(mut self, dir: impl AsRef<Path>) -> Self {
        self.agreements = Some(dir.as_ref().to_path_buf());
        self
    }

    /// A fixed admin token instead of a random one.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Prepares the mock, binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(self) -> Result<Server, StartError> {
        let tmp = match &self.data_dir {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("mock-server-")
                    .tempdir()
                    .map_err(|source| StartError::DataDir {
                        path: std::env::temp_dir(),
                        source,
                    })?,
            ),
        };
        let d = Settings::default();
        let data_dir = self
            .data_dir
            .or_else(|| tmp.as_ref().map(|t| t.path().to_path_buf()))
            .unwrap_or(d.data_dir.clone());
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let settings = Settings {
            listen: addr,
            data_dir: data_dir.clone(),
            seed: self.seed.unwrap_or(d.seed),
            population: self.population.unwrap_or(d.population),
            agreements: self.agreements,
            admin_token: Some(self.admin_token.unwrap_or_else(|| admin_token(&d))),
            ..d
        };
        let prepared = prepare(settings).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let dataset = (*prepared.state.dataset).clone();
        let limits = prepared.state.settings.limits.clone();
        let app = super::app(prepared.state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            super::conn::serve(listener, app, &limits, None, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Server {
            uri: format!("http://{addr}"),
            addr,
            token: prepared.token,
            dataset,
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
            writer: Some(prepared.writer),
            _tmp: tmp,
        })
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::config::InstitutionOverride;

    /// A directory with one agreement: the embedded `dev` profile under another id and
    /// customer id (`lab`), and the embedded `rsud-karanganyar` renamed.
    fn agreements_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let dev = include_str!("../../../fixtures/agreements/dev.toml");
        let lab = dev
            .replace("customer_id = \"dev\"", "customer_id = \"lab_3313\"")
            .replace("\nid = \"dev\"", "\nid = \"lab\"")
            .replace("balikan-dev-dummy", "balikan-lab-dummy");
        std::fs::write(dir.path().join("lab.toml"), lab).unwrap();
        let rsud = include_str!("../../../fixtures/agreements/rsud-karanganyar.toml")
            .replace("RSUD KABUPATEN KARANGANYAR", "RSUD DARI BERKAS");
        std::fs::write(dir.path().join("rsud-karanganyar.toml"), rsud).unwrap();
        dir
    }

    #[test]
    fn an_agreements_directory_adds_to_the_embedded_ones_unless_it_replaces_them() {
        let dir = agreements_dir();
        let mut settings = Settings {
            agreements: Some(dir.path().to_path_buf()),
            ..Settings::default()
        };
        let added = agreements(&settings).unwrap();
        assert_eq!(added.len(), Agreement::embedded().len() + 1);
        assert!(added.iter().any(|a| a.customer_id == "lab_3313"));
        let rsud: Vec<_> = added
            .iter()
            .filter(|a| a.id == "rsud-karanganyar")
            .collect();
        assert_eq!(rsud.len(), 1, "the file's replaces the embedded one");
        assert!(rsud[0].institution.contains("DARI BERKAS"), "{:?}", rsud[0]);
        settings.agreements_replace = true;
        let replaced = agreements(&settings).unwrap();
        let mut ids: Vec<_> = replaced.iter().map(|a| a.customer_id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["lab_3313", "rsud_3313"]);
    }

    #[test]
    fn institutions_of_their_own_under_one_agreement() {
        let mut settings = Settings::default();
        for (cid, pw) in [("pkm_jatipuro", Some("rahasia-1")), ("pkm_jumantono", None)] {
            settings.institutions.insert(
                cid.into(),
                InstitutionOverride {
                    agreement: Some("dinkes-karanganyar".into()),
                    password: pw.map(Into::into),
                    quota_per_day: Some(200),
                    ..Default::default()
                },
            );
        }
        let list = agreements(&settings).unwrap();
        let pkm = list
            .iter()
            .find(|a| a.customer_id == "pkm_jatipuro")
            .unwrap();
        let dinkes = list
            .iter()
            .find(|a| a.customer_id == "dinkes_3313")
            .unwrap();
        assert_eq!(pkm.id, dinkes.id);
        assert_eq!(pkm.granted, dinkes.granted);
        assert_eq!(pkm.credentials.user_id, "pkm_jatipuro");
        assert_eq!(pkm.credentials.password, "rahasia-1");
        assert_eq!(pkm.credentials.balikan_token, "balikan-pkm_jatipuro-dummy");
        let other = list
            .iter()
            .find(|a| a.customer_id == "pkm_jumantono")
            .unwrap();
        assert_eq!(other.credentials.password, "dummy-pkm_jumantono");
        let inst = crate::core::institutions::Institution::from_agreement(pkm, &settings);
        assert_eq!(inst.quota_per_day, Some(200));

        // Mistakes are named, with the settings file's line.
        settings.config = Some("sandbox.toml".into());
        settings.institution_lines.insert("pkm_x".into(), 9);
        settings.institutions.insert(
            "pkm_x".into(),
            InstitutionOverride {
                agreement: Some("dinkes-karanganyer".into()),
                ..Default::default()
            },
        );
        let e = agreements(&settings).unwrap_err().to_string();
        assert!(
            e.contains("sandbox.toml:9") && e.contains("dinkes-karanganyer"),
            "{e}"
        );
        settings.institutions.insert(
            "pkm_x".into(),
            InstitutionOverride {
                password: Some("x".into()),
                ..Default::default()
            },
        );
        let e = agreements(&settings).unwrap_err().to_string();
        assert!(e.contains("agreement = "), "{e}");
        settings.institutions.remove("pkm_x");
        settings.institutions.insert(
            "rsud_3313".into(),
            InstitutionOverride {
                agreement: Some("dinkes-karanganyar".into()),
                ..Default::default()
            },
        );
        let e = agreements(&settings).unwrap_err().to_string();
        assert!(e.contains("already the customer id"), "{e}");
    }

    /// The builder serves the gateway and the admin API on a free loopback port, and
    /// `/__admin/dataset` names the very file served: its hash is the SHA-256 of its bytes.
    #[tokio::test]
    async fn builder_serves_and_names_its_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let mock = Server::builder()
            .data_dir(dir.path())
            .population(300)
            .seed(7)
            .admin_token("t0k")
            .start()
            .await
            .unwrap();
        assert!(
            mock.uri().starts_with("http://127.0.0.1:"),
            "{}",
            mock.uri()
        );
        assert!(mock.address().ip().is_loopback());
        let http = reqwest::Client::new();
        let got: DatasetInfo = http
            .get(format!("{}/__admin/dataset", mock.uri()))
            .bearer_auth(mock.admin_token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let file = dir
            .path()
            .join(db::dataset_file_name(PopulationSpec { seed: 7, size: 300 }));
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(got.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!((got.seed, got.size), (7, 300));
        assert_eq!(&got, mock.dataset());
        // A gateway call is answered and journaled.
        let res = http
            .post(format!(
                "{}/dukcapil/get_json/rsud_3313/CALL_NIK",
                mock.uri()
            ))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let unauthorized = http
            .get(format!("{}/__admin/dataset", mock.uri()))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorized.status(), 401);
        mock.stop().await;
        // Stopped after the journal writer committed: the call is in the journal.
        let rows = db::query_journal(
            dir.path(),
            &db::JournalFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].endpoint, "CALL_NIK");
    }
}
