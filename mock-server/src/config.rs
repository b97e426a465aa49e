//! Settings of `mock-server serve`: flags > `MOCK_*` environment variables > TOML file > defaults.
//! The embedded defaults need no file at all.
//!
//! ```toml
//! listen = "127.0.0.1:8000"      # MOCK_LISTEN / --listen
//! data_dir = "./mock-data"
//! tls = false                    # --tls: HTTPS with a generated self-signed certificate
//! # tls_cert = "certs/mock.pem"  # ... or with this certificate chain and key (your own CA)
//! # tls_key = "certs/mock.key"
//! # balikan_listen = "127.0.0.1:8001"  # data balikan on its own address (a host of its own)
//! # balikan_tls = false          # its TLS, independent of the gateway's (default: the same)
//! seed = 1
//! population = 10000
//! catalogue = "gateway"          # or "juknis", "regional"
//! ip_policy = "source"           # or "body", "both", "off" (per institution too)
//! balikan_keys = "free"          # or "strict" (per institution too)
//! unknown_method_status = 404    # HTTP status of an unknown method name
//! verify_error_respon = true     # false: verification errors carry only RESPONSE_*
//! durable_answers = true         # false (benchmarks only): answer before the journal commit
//! id_numbers = "number"          # or "string"
//! date_format = "YYYY-MM-DD"     # or "DD-MM-YYYY", "DD.MM.YYYY"
//! strict_operator = false
//! admin_token = "secret"         # default: random, printed at start
//! admin_remote = false
//! journal_cap = 1000000
//! # agreements = "fixtures/agreements"  # added to the embedded profiles
//! # agreements_replace = false   # true: only the directory's
//! enforce_access_methods = false # true: the agreement's access methods are enforced
//!
//! [portal]                       # the mock Web Portal (`/portal/masuk`)
//! quota_before_poc = 200         # searches per institution and WIB day until `poc_passed`
//!
//! [[portal_operators]]           # operator accounts (password hashed at load)
//! institution = "dinkes_3303"
//! username = "petugas.portal01"
//! password = "sandi-portal-01"
//!
//! [limits]                       # all optional: what hostile or careless input may cost
//! upload_max_bytes = 8388608     # see [`Limits`] for every key and its default
//!
//! [institutions.rsud_3313]       # per customer id, all optional
//! active = true                  # false: outcome 16
//! user_active = true             # false: outcome 17
//! ip_user = "127.0.0.1"
//! quota_per_day = 1000
//! access_hours = "07:00-16:00"   # WIB; outside: outcome 06
//! ip_policy = "both"
//! methods = { CALL_NIK = "lookup", CALL_VERIFY_BY_ELEMEN = "verification" }
//! admin_token = "rsud-token"    # the institution's own admin token (its institution only)
//!
//! [institutions.pkm_jaten]       # an institution of its own under an agreement
//! agreement = "dinkes-karanganyar"
//! password = "dummy-pkm-jaten"   # user_id: the customer id unless given
//! quota_per_day = 200
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dukcapil_domain::{Catalogue, DateFormat, IdNumberType, Service};
use dukcapil_mock_api::{BalikanKeys, IpPolicy};
use serde::Deserialize;

/// Default number of journal rows kept (oldest dropped first).
pub(crate) const DEFAULT_JOURNAL_CAP: u64 = 1_000_000;

/// What one request, connection or stored row may cost (`[limits]` of the settings file). Every
/// limit has a safe default and is named, by its key, in the answer that refuses input past it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Limits {
    /// Largest multipart upload body (bytes).
    pub upload_max_bytes: usize,
    /// Largest JSON balikan body (bytes).
    pub store_max_bytes: usize,
    /// Data rows of an uploaded sheet (CSV records or .xlsx rows below the header).
    pub sheet_max_rows: usize,
    /// Columns of an uploaded sheet.
    pub sheet_max_columns: usize,
    /// Cells of an uploaded sheet (rows x columns of its used range, or declared dimension).
    pub sheet_max_cells: usize,
    /// Longest line of an uploaded CSV (bytes).
    pub csv_max_line_bytes: usize,
    /// Uncompressed bytes of all entries of an uploaded .xlsx (declared and actual).
    pub xlsx_max_uncompressed_bytes: u64,
    /// Entries (files) of an uploaded .xlsx zip.
    pub xlsx_max_entries: usize,
    /// Submissions parsed and validated at once (off the async workers); more wait.
    pub upload_concurrency: usize,
    /// Submissions admitted at once (reading, waiting or parsing); more get a 503 at once.
    pub upload_max_waiting: usize,
    /// Bytes of the lists in a balikan answer (bad rows, repeats); the rest is counted.
    pub answer_max_bytes: usize,
    /// Open connections per listener (plain or TLS); past it a new one gets a 503 and is closed
    /// at once.
    pub max_connections: usize,
    /// Time to finish a TLS handshake and to receive a request's head (ms), also the longest
    /// wait for the next request.
    pub header_read_timeout_ms: u64,
    /// Time to receive a request's body (ms), from its head on.
    pub body_read_timeout_ms: u64,
    /// Longest a keep-alive connection stays open without traffic or a request in flight (ms).
    pub idle_timeout_ms: u64,
    /// Longest text field stored in a journal or ledger row (bytes); longer ones are cut with
    /// a marker naming their full length.
    pub field_max_bytes: usize,
    /// Byte budget of the journal's rows (oldest dropped first), besides `journal_cap`.
    pub journal_max_bytes: u64,
    /// Balikan ledger entries kept (oldest dropped first).
    pub ledger_max_rows: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            upload_max_bytes: 8 * 1024 * 1024,
            store_max_bytes: 2 * 1024 * 1024,
            sheet_max_rows: 50_000,
            sheet_max_columns: 256,
            sheet_max_cells: 1_000_000,
            csv_max_line_bytes: 64 * 1024,
            xlsx_max_uncompressed_bytes: 64 * 1024 * 1024,
            xlsx_max_entries: 1_000,
            upload_concurrency: 2,
            upload_max_waiting: 16,
            answer_max_bytes: 256 * 1024,
            max_connections: 512,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            field_max_bytes: 4 * 1024,
            journal_max_bytes: 512 * 1024 * 1024,
            ledger_max_rows: 1_000_000,
        }
    }
}

/// The mock Web Portal (`[portal]` of the settings file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PortalSettings {
    /// Searches per institution and WIB day before the PoC (Juknis Purbalingga: 200);
    /// unlimited once the institution's `poc_passed` is set.
    pub quota_before_poc: u32,
    /// Failed logins of one account within `lockout_minutes` that lock it (HTTP 429).
    pub lockout_failures: u32,
    /// The window of counted failures, and how long a locked account stays locked (mock clock).
    pub lockout_minutes: u32,
    /// How long a session lasts after login (mock clock).
    pub session_minutes: u32,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            quota_before_poc: 200,
            lockout_failures: 5,
            lockout_minutes: 15,
            session_minutes: 480,
        }
    }
}

/// One Web Portal operator account (`[[portal_operators]]`): the password as text (hashed at
/// load, never kept) or as an Argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortalOperatorEntry {
    /// The institution's customer id.
    pub institution: String,
    pub username: String,
    pub password: Option<String>,
    pub password_hash: Option<String>,
}

/// `mock-server serve` flags. Every flag is optional so that the file and defaults can fill in.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8000; port 0 picks a free port).
    #[arg(long, env = "MOCK_LISTEN", value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
    /// Directory holding the population and the state database (default ./mock-data).
    #[arg(long, env = "MOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML settings file (see README); flags and MOCK_* variables override it.
    #[arg(long, env = "MOCK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate generated into the data directory.
    #[arg(long, env = "MOCK_TLS", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub tls: Option<bool>,
    /// With --tls: serve this PEM certificate chain instead of a generated one.
    #[arg(long, env = "MOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// With --tls: the PEM private key of --tls-cert.
    #[arg(long, env = "MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve the data-balikan service on its own address, as the real network does (a host of
    /// its own); the gateway's listener then answers its paths with 404.
    #[arg(long, env = "MOCK_BALIKAN_LISTEN", value_parser = parse_listen)]
    pub balikan_listen: Option<SocketAddr>,
    /// TLS on the --balikan-listen address, independent of the gateway's (default: as --tls).
    #[arg(long, env = "MOCK_BALIKAN_TLS", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub balikan_tls: Option<bool>,
    /// Population generator seed (default 1).
    #[arg(long, env = "MOCK_SEED")]
    pub seed: Option<u64>,
    /// Population size (default 10,000).
    #[arg(long, env = "MOCK_POPULATION")]
    pub population: Option<u64>,
    /// Text catalogue of the outcome texts (default gateway).
    #[arg(long, env = "MOCK_CATALOGUE", value_parser = catalogue_parser())]
    pub catalogue: Option<Catalogue>,
    /// How the registered address (IP LAN) is judged, for institutions without their own
    /// `ip_policy` (default source).
    #[arg(long, env = "MOCK_IP_POLICY", value_parser = ip_policy_parser())]
    pub ip_policy: Option<IpPolicy>,
    /// Data balikan `param` keys outside the agreement: accepted and recorded (free, the
    /// default) or refused with 422 (strict).
    #[arg(long, env = "MOCK_BALIKAN_KEYS", value_parser = balikan_keys_parser())]
    pub balikan_keys: Option<BalikanKeys>,
    /// How NIK and NO_KK are typed on the wire (default number).
    #[arg(long, env = "MOCK_ID_NUMBERS", value_parser = id_numbers_parser())]
    pub id_numbers: Option<IdNumberType>,
    /// Format of TGL_LHR (birth date) on the wire (default YYYY-MM-DD).
    #[arg(long, env = "MOCK_DATE_FORMAT", value_parser = date_format_parser())]
    pub date_format: Option<DateFormat>,
    /// Answer 07 when the operator field (User_ID) is missing or empty.
    #[arg(long, env = "MOCK_STRICT_OPERATOR", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub strict_operator: Option<bool>,
    /// Bearer token of the /__admin API (default: a random token printed at start).
    #[arg(long, env = "MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Allow the /__admin API from non-loopback addresses.
    #[arg(long, env = "MOCK_ADMIN_REMOTE", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub admin_remote: Option<bool>,
    /// Journal rows kept, oldest dropped first (default 1,000,000).
    #[arg(long, env = "MOCK_JOURNAL_CAP")]
    pub journal_cap: Option<u64>,
    /// Directory of agreement TOML files, added to the embedded profiles (a file with an
    /// embedded profile's id or customer id replaces it).
    #[arg(long, env = "MOCK_AGREEMENTS")]
    pub agreements: Option<PathBuf>,
    /// Enforce the agreements' access methods: an institution without `web_service` gets
    /// outcome 03 on the gateway (default false: the PoC sessions play every profile by web
    /// service). The Web Portal always refuses institutions without `web_portal`.
    #[arg(long, env = "MOCK_ENFORCE_ACCESS_METHODS", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub enforce_access_methods: Option<bool>,
    /// With --agreements: the directory's agreements are the only ones (no embedded profiles).
    #[arg(long, env = "MOCK_AGREEMENTS_REPLACE", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub agreements_replace: Option<bool>,
    /// An empty or foreign state.sqlite is moved aside (state.sqlite.bad-TIME) and a new one
    /// started, instead of refused.
    #[arg(long, env = "MOCK_FRESH_STATE")]
    pub fresh_state: bool,
}

/// A parser that lists `values` (with their help) in `--help` and completions and parses the
/// chosen one with the type's `FromStr`.
fn choice<T>(
    values: &[(&'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        values
            .iter()
            .map(|(name, help)| PossibleValue::new(*name).help(*help)),
    )
    .try_map(|s| s.parse::<T>())
}

fn catalogue_parser() -> impl clap::builder::TypedValueParser<Value = Catalogue> {
    choice(&[
        (
            "gateway",
            "the texts the gateway sends today, which clients compare",
        ),
        ("juknis", "the wording of the 2025 Juknis"),
        ("regional", "the regional gateways' lower-case wording"),
    ])
}

fn ip_policy_parser() -> impl clap::builder::TypedValueParser<Value = IpPolicy> {
    choice(&[
        (
            "source",
            "the connection's source must be the registered address (the real gateway)",
        ),
        ("body", "the body's IP_USER must be the registered address"),
        ("both", "both must be the registered address"),
        ("off", "neither is judged"),
    ])
}

fn balikan_keys_parser() -> impl clap::builder::TypedValueParser<Value = BalikanKeys> {
    choice(&[
        (
            "free",
            "keys outside the agreement accepted and recorded (the real service)",
        ),
        ("strict", "keys outside the agreement refused with 422"),
    ])
}

fn id_numbers_parser() -> impl clap::builder::TypedValueParser<Value = IdNumberType> {
    choice(&[
        ("number", "16-digit JSON numbers, exact beyond 2^53"),
        ("string", "JSON strings"),
    ])
}

fn date_format_parser() -> impl clap::builder::TypedValueParser<Value = DateFormat> {
    choice(&[
        ("YYYY-MM-DD", "1990-05-17"),
        ("DD-MM-YYYY", "17-05-1990"),
        ("DD.MM.YYYY", "17.05.1990"),
    ])
}

/// Per-institution overrides from the settings file (`[institutions.<customer_id>]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstitutionOverride {
    /// `false`: the institution is switched off (outcome 16).
    pub active: Option<bool>,
    /// `false`: its user id is deactivated (outcome 17).
    pub user_active: Option<bool>,
    /// The registered source address, replacing the agreement's.
    pub ip_user: Option<String>,
    /// Daily quota, replacing the agreement's (`0` is a quota of zero).
    pub quota_per_day: Option<u32>,
    /// Allowed access hours in WIB, `"HH:MM-HH:MM"` (outside: outcome 06).
    pub access_hours: Option<String>,
    /// How the registered address is judged, replacing the global `ip_policy`.
    pub ip_policy: Option<IpPolicy>,
    /// Balikan keys outside the agreement, replacing the global `balikan_keys`.
    pub balikan_keys: Option<BalikanKeys>,
    /// The method names the institution may call (case-insensitive) and the service each maps
    /// to, replacing the default set (see `core::institutions::DEFAULT_METHODS`).
    pub methods: Option<BTreeMap<String, Service>>,
    /// The institution's own admin token: reads and changes this institution only (a shared
    /// sandbox hands it to the agency's developers).
    pub admin_token: Option<String>,
    /// An institution of its own under this agreement profile (e.g. a puskesmas under
    /// `dinkes-karanganyar`): the block's key is its customer id.
    pub agreement: Option<String>,
    /// With `agreement`: the institution's name (default: the agreement's, with the id).
    pub name: Option<String>,
    /// With `agreement`: its institutional User ID (default: the customer id).
    pub user_id: Option<String>,
    /// With `agreement`: its password (default `dummy-<customer id>`).
    pub password: Option<String>,
    /// With `agreement`: its data-balikan token (default `balikan-<customer id>-dummy`).
    pub balikan_token: Option<String>,
}

/// The file form; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    tls: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    balikan_listen: Option<SocketAddr>,
    balikan_tls: Option<bool>,
    seed: Option<u64>,
    population: Option<u64>,
    catalogue: Option<Catalogue>,
    ip_policy: Option<IpPolicy>,
    balikan_keys: Option<BalikanKeys>,
    unknown_method_status: Option<u16>,
    verify_error_respon: Option<bool>,
    durable_answers: Option<bool>,
    id_numbers: Option<IdNumberType>,
    date_format: Option<DateFormat>,
    strict_operator: Option<bool>,
    admin_token: Option<String>,
    admin_remote: Option<bool>,
    journal_cap: Option<u64>,
    agreements: Option<PathBuf>,
    agreements_replace: Option<bool>,
    #[serde(default)]
    institutions: BTreeMap<String, InstitutionOverride>,
    /// Seed of the fault rules' draws (probability, delay ranges).
    fault_seed: Option<u64>,
    /// `[[faults]]`: fault rules active from the start (see `faults::rule`).
    #[serde(default)]
    faults: Vec<dukcapil_mock_api::FaultRule>,
    #[serde(default)]
    limits: Limits,
    enforce_access_methods: Option<bool>,
    #[serde(default)]
    portal: PortalSettings,
    #[serde(default)]
    portal_operators: Vec<PortalOperatorEntry>,
}

pub(crate) use dukcapil_mock_api::AccessHours;

/// A certificate chain and its private key, both PEM files (`tls_cert`, `tls_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Effective settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub tls: bool,
    /// A given certificate chain and key (PEM) instead of the generated self-signed one.
    pub tls_files: Option<TlsFiles>,
    /// The data-balikan service's own address, when it is not the gateway's.
    pub balikan_listen: Option<SocketAddr>,
    /// TLS on `balikan_listen`.
    pub balikan_tls: bool,
    pub seed: u64,
    pub population: u64,
    pub catalogue: Catalogue,
    /// Default IP policy of institutions without their own.
    pub ip_policy: IpPolicy,
    /// Default balikan key policy of institutions without their own.
    pub balikan_keys: BalikanKeys,
    /// HTTP status of a call to a method name the institution may not call (envelope, 07).
    pub unknown_method_status: u16,
    /// Whether verification errors carry `RESPON` beside the `RESPONSE_*` keys.
    pub verify_error_respon: bool,
    /// Whether an answer waits until its journal row and quota count are committed (the
    /// default, and what every promise of the journal rests on). `false` exists for the
    /// benchmark's "no durability" reference only: answers then go out first, and a crash can
    /// lose rows of calls that clients saw answered.
    pub durable_answers: bool,
    pub id_numbers: IdNumberType,
    pub date_format: DateFormat,
    pub strict_operator: bool,
    pub admin_token: Option<String>,
    pub admin_remote: bool,
    pub journal_cap: u64,
    pub agreements: Option<PathBuf>,
    /// `agreements` replaces the embedded profiles instead of adding to them.
    pub agreements_replace: bool,
    /// The settings file, for errors about it.
    pub config: Option<PathBuf>,
    pub institutions: BTreeMap<String, InstitutionOverride>,
    /// The settings file's line of each `[institutions.<id>]`, for errors about it.
    pub institution_lines: BTreeMap<String, usize>,
    /// Seed of the fault rules' draws (default 0: sessions replay the same faults).
    pub fault_seed: u64,
    /// Fault rules active from the start, validated.
    pub faults: Vec<dukcapil_mock_api::FaultRule>,
    /// What a request, connection or stored row may cost.
    pub limits: Limits,
    /// `--fresh-state`: move an empty or foreign state file aside instead of refusing it.
    pub fresh_state: bool,
    /// Whether an institution without `web_service` is refused on the gateway (03).
    pub enforce_access_methods: bool,
    /// The Web Portal's quota, lock-out and session settings.
    pub portal: PortalSettings,
    /// Web Portal operator accounts of the settings file, validated (institutions are checked
    /// against the agreements at start).
    pub portal_operators: Vec<PortalOperatorEntry>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: PathBuf::from("./mock-data"),
            tls: false,
            tls_files: None,
            balikan_listen: None,
            balikan_tls: false,
            seed: 1,
            population: 10_000,
            catalogue: Catalogue::Gateway,
            ip_policy: IpPolicy::Source,
            balikan_keys: BalikanKeys::Free,
            unknown_method_status: 404,
            verify_error_respon: true,
            durable_answers: true,
            id_numbers: IdNumberType::Number,
            date_format: DateFormat::Iso,
            strict_operator: false,
            admin_token: None,
            admin_remote: false,
            journal_cap: DEFAULT_JOURNAL_CAP,
            agreements: None,
            agreements_replace: false,
            config: None,
            institutions: BTreeMap::new(),
            institution_lines: BTreeMap::new(),
            fault_seed: 0,
            faults: Vec::new(),
            limits: Limits::default(),
            fresh_state: false,
            enforce_access_methods: false,
            portal: PortalSettings::default(),
            portal_operators: Vec::new(),
        }
    }
}

/// A settings file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    /// The cause is said once, in words (not also as the error's source).
    #[error("cannot read settings file {}: {}", path.display(), io_cause(error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Settings that contradict each other.
    #[error("{0}")]
    Conflict(String),
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    Parse {
        path: PathBuf,
        /// 1-based line the problem is on, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        message: String,
    },
}

impl Settings {
    /// Merges flags (clap already applied `MOCK_*` variables to them) over the file over defaults.
    pub(crate) fn resolve(args: &ServeArgs) -> Result<Settings, SettingsError> {
        let (file, text) = match &args.config {
            Some(path) => Self::read_file(path)?,
            None => (SettingsFile::default(), String::new()),
        };
        let at_institution = |cid: &str, message: String| SettingsError::Parse {
            path: args.config.clone().unwrap_or_default(),
            line: line_of(&text, &format!("[institutions.{cid}]"), 0),
            column: None,
            message: format!("institutions.{cid}: {message}"),
        };
        let operator_token = args.admin_token.clone().or(file.admin_token.clone());
        let mut tokens: BTreeMap<&str, &str> = BTreeMap::new();
        for (cid, o) in &file.institutions {
            if let Some(t) = &o.admin_token {
                if t.trim().len() < 8 || t.trim() != t {
                    return Err(at_institution(
                        cid,
                        "admin_token must be at least 8 characters, without surrounding spaces"
                            .into(),
                    ));
                }
                if operator_token.as_deref() == Some(t.as_str()) {
                    return Err(at_institution(
                        cid,
                        "admin_token is the sandbox operator's admin_token: an institution's token must be its own".into(),
                    ));
                }
                if let Some(other) = tokens.insert(t, cid) {
                    return Err(at_institution(
                        cid,
                        format!("admin_token is also institution `{other}`'s: each institution needs its own"),
                    ));
                }
            }
            if let Some(h) = &o.access_hours {
                h.parse::<AccessHours>()
                    .map_err(|message| at_institution(cid, message))?;
            }
            if let Some(m) = &o.methods {
                dukcapil_mock_api::check_method_names(m.keys().map(String::as_str))
                    .map_err(|message| at_institution(cid, message))?;
            }
        }
        if let Some(status) = file.unknown_method_status {
            if !(200..=599).contains(&status) {
                return Err(SettingsError::Parse {
                    path: args.config.clone().unwrap_or_default(),
                    line: line_of(&text, "unknown_method_status", 0),
                    column: None,
                    message: format!(
                        "unknown_method_status {status} is not an HTTP status (200-599)"
                    ),
                });
            }
        }
        for (index, rule) in file.faults.iter().enumerate() {
            rule.validate().map_err(|error| SettingsError::Parse {
                path: args.config.clone().unwrap_or_default(),
                line: line_of(&text, "[[faults]]", index),
                column: None,
                message: dukcapil_mock_api::RuleListError { index, error }.to_string(),
            })?;
        }
        check_portal(&file, &text, args.config.clone().unwrap_or_default())?;
        let d = Settings::default();
        let tls = args.tls.or(file.tls).unwrap_or(d.tls);
        let balikan_listen = args.balikan_listen.or(file.balikan_listen);
        let balikan_tls = args.balikan_tls.or(file.balikan_tls);
        if balikan_tls.is_some() && balikan_listen.is_none() {
            return Err(SettingsError::Conflict(
                "balikan_tls needs balikan_listen: without its own address the data-balikan service shares the gateway's listener and its TLS (--tls)".into(),
            ));
        }
        let balikan_tls = balikan_tls.unwrap_or(tls);
        let tls_files = match (
            args.tls_cert.clone().or(file.tls_cert),
            args.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(SettingsError::Conflict(
                    "tls_cert and tls_key go together: give both (--tls-cert FILE --tls-key FILE) or neither".into(),
                ))
            }
        };
        if tls_files.is_some() && !tls && !(balikan_listen.is_some() && balikan_tls) {
            return Err(SettingsError::Conflict(
                "tls_cert/tls_key given but no listener serves TLS: add --tls (or --balikan-tls with --balikan-listen)".into(),
            ));
        }
        Ok(Settings {
            listen: args.listen.or(file.listen).unwrap_or(d.listen),
            tls,
            tls_files,
            balikan_listen,
            balikan_tls,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or(d.data_dir),
            seed: args.seed.or(file.seed).unwrap_or(d.seed),
            population: args.population.or(file.population).unwrap_or(d.population),
            catalogue: args.catalogue.or(file.catalogue).unwrap_or(d.catalogue),
            ip_policy: args.ip_policy.or(file.ip_policy).unwrap_or(d.ip_policy),
            balikan_keys: args
                .balikan_keys
                .or(file.balikan_keys)
                .unwrap_or(d.balikan_keys),
            unknown_method_status: file
                .unknown_method_status
                .unwrap_or(d.unknown_method_status),
            verify_error_respon: file.verify_error_respon.unwrap_or(d.verify_error_respon),
            durable_answers: file.durable_answers.unwrap_or(d.durable_answers),
            id_numbers: args.id_numbers.or(file.id_numbers).unwrap_or(d.id_numbers),
            date_format: args
                .date_format
                .or(file.date_format)
                .unwrap_or(d.date_format),
            strict_operator: args
                .strict_operator
                .or(file.strict_operator)
                .unwrap_or(d.strict_operator),
            admin_token: args.admin_token.clone().or(file.admin_token),
            admin_remote: args
                .admin_remote
                .or(file.admin_remote)
                .unwrap_or(d.admin_remote),
            journal_cap: args
                .journal_cap
                .or(file.journal_cap)
                .unwrap_or(d.journal_cap),
            agreements: args.agreements.clone().or(file.agreements),
            agreements_replace: args
                .agreements_replace
                .or(file.agreements_replace)
                .unwrap_or(false),
            config: args.config.clone(),
            institution_lines: file
                .institutions
                .keys()
                .filter_map(|cid| {
                    let line = line_of(&text, &format!("[institutions.{cid}]"), 0)
                        .or_else(|| line_of_text(&text, cid))?;
                    Some((cid.clone(), line))
                })
                .collect(),
            institutions: file.institutions,
            fault_seed: file.fault_seed.unwrap_or(d.fault_seed),
            faults: file.faults,
            limits: file.limits,
            fresh_state: args.fresh_state,
            enforce_access_methods: args
                .enforce_access_methods
                .or(file.enforce_access_methods)
                .unwrap_or(d.enforce_access_methods),
            portal: file.portal,
            portal_operators: file.portal_operators,
        })
    }

    fn read_file(path: &Path) -> Result<(SettingsFile, String), SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| SettingsError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let file = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| dukcapil_domain::agreement::line_col(&text, s.start));
            SettingsError::Parse {
                path: path.to_path_buf(),
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                message: e.message().trim().to_string(),
            }
        })?;
        Ok((file, text))
    }
}

/// The `[portal]` numbers and every `[[portal_operators]]` entry, with the line of the entry.
fn check_portal(file: &SettingsFile, text: &str, path: PathBuf) -> Result<(), SettingsError> {
    let at = |header: &str, nth: usize, message: String| SettingsError::Parse {
        path: path.clone(),
        line: line_of(text, header, nth),
        column: None,
        message,
    };
    let p = &file.portal;
    for (key, value) in [
        ("lockout_failures", p.lockout_failures),
        ("lockout_minutes", p.lockout_minutes),
        ("session_minutes", p.session_minutes),
    ] {
        if value == 0 {
            return Err(at(
                "[portal]",
                0,
                format!("portal.{key} must be at least 1"),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, op) in file.portal_operators.iter().enumerate() {
        let fail = |message: String| {
            at(
                "[[portal_operators]]",
                index,
                format!("portal_operators[{index}]: {message}"),
            )
        };
        if op.institution.trim().is_empty() {
            return Err(fail("`institution` (a customer id) is empty".into()));
        }
        if !dukcapil_mock_api::valid_username(&op.username) {
            return Err(fail(format!(
                "username `{}` must be 1-{} letters, digits, '.', '_' or '-', starting with a letter or digit",
                op.username,
                dukcapil_mock_api::MAX_USERNAME
            )));
        }
        match (&op.password, &op.password_hash) {
            (Some(pw), None) => {
                if pw.trim().is_empty() || pw.len() > dukcapil_mock_api::MAX_PORTAL_PASSWORD {
                    return Err(fail(format!(
                        "`password` must be non-blank and at most {} bytes",
                        dukcapil_mock_api::MAX_PORTAL_PASSWORD
                    )));
                }
            }
            (None, Some(phc)) => {
                if argon2::password_hash::PasswordHash::new(phc).is_err() {
                    return Err(fail(
                        "`password_hash` is not an Argon2 PHC string ($argon2id$v=19$...)".into(),
                    ));
                }
            }
            _ => {
                return Err(fail(
                    "give exactly one of `password` (hashed at load) and `password_hash` (an Argon2 PHC string)".into(),
                ))
            }
        }
        if !seen.insert((op.institution.as_str(), op.username.as_str())) {
            return Err(fail(format!(
                "operator `{}` of `{}` is named twice",
                op.username, op.institution
            )));
        }
    }
    Ok(())
}

/// Parses `IP:PORT`; a host name (`localhost:8000`) is refused with the address to write instead.
pub(crate) fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let (host, port) = s.rsplit_once(':').unwrap_or((s, ""));
    let port_ok = port.parse::<u16>().is_ok();
    let hint = match host {
        "localhost" | "ip6-localhost" if port_ok => format!(
            "an IP address is needed, not a host name: --listen 127.0.0.1:{port} (or [::1]:{port})"
        ),
        "" | "*" if port_ok => format!(
            "give the address too: --listen 127.0.0.1:{port} (loopback) or 0.0.0.0:{port} (every interface)"
        ),
        _ if !port_ok && s.parse::<std::net::IpAddr>().is_ok() => {
            format!("a port is needed: --listen {s}:8000 (port 0 picks a free one)")
        }
        _ if port_ok => format!(
            "an IP address is needed, not a host name: e.g. --listen 127.0.0.1:{port}"
        ),
        _ => "expected IP:PORT, e.g. 127.0.0.1:8000 (port 0 picks a free one)".to_string(),
    };
    Err(format!("`{s}` is not an IP:PORT address; {hint}"))
}

/// An I/O error's cause in words, without the OS's error number: `permission denied`.
pub(crate) fn io_cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::IsADirectory => "is a directory, not a file".into(),
        ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        ErrorKind::StorageFull => "no space left on the device".into(),
        ErrorKind::NotADirectory => "a part of the path is a file, not a directory".into(),
        _ => {
            let text = e.to_string();
            // "File exists (os error 17)" → "file exists"
            match text.find(" (os error") {
                Some(at) => text[..at].to_lowercase(),
                None => text,
            }
        }
    }
}

/// `:line:column`, `:line` or nothing, after the file name of an error.
fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// 1-based line of the `nth` (0-based) line of `text` that starts with `header` (trimmed): where
/// a table of the settings file begins, to point at it in an error.
fn line_of(text: &str, header: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(header))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// 1-based line of the first line of `text` that mentions `needle` (an inline or dotted
/// `institutions` key).
fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mock.toml");
        std::fs::write(
            &path,
            "seed = 7\npopulation = 500\ncatalogue = \"juknis\"\n[institutions.rsud_3313]\nquota_per_day = 3\naccess_hours = \"07:00-16:00\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            seed: Some(9),
            ..Default::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.seed, 9);
        assert_eq!(s.population, 500);
        assert_eq!(s.catalogue, Catalogue::Juknis);
        assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 8000)));
        assert_eq!(s.institutions["rsud_3313"].quota_per_day, Some(3));
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mock.toml");
        std::fs::write(&path, "sede = 7\n").unwrap();
        let err = Settings::resolve(&ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("mock.toml"), "{err}");
        std::fs::write(&path, "[institutions.x]\naccess_hours = \"7-16\"\n").unwrap();
        assert!(Settings::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn host_names_get_a_hint() {
        assert_eq!(parse_listen("127.0.0.1:9").unwrap().port(), 9);
        let e = parse_listen("localhost:8000").unwrap_err();
        assert!(e.contains("--listen 127.0.0.1:8000"), "{e}");
        assert!(parse_listen(":8000").unwrap_err().contains("0.0.0.0:8000"));
        assert!(parse_listen("127.0.0.1")
            .unwrap_err()
            .contains("127.0.0.1:8000"));
        assert!(parse_listen("nonsense").unwrap_err().contains("IP:PORT"));
    }

    /// The example settings file the README points to names every key of the file form, and
    /// the mock reads it.
    #[test]
    fn the_shipped_example_has_every_key_and_resolves() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/settings/mock.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        // Keys that need files or ports of their own are shown commented out (`# key = value`).
        keys.extend(text.lines().filter_map(|line| {
            let (key, _) = line.strip_prefix("# ")?.split_once(" = ")?;
            key.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
                .then_some(key)
        }));
        keys.sort_unstable();
        // Every field of `SettingsFile` (deny_unknown_fields keeps the file from inventing any).
        let mut expected = vec![
            "listen",
            "data_dir",
            "tls",
            "tls_cert",
            "tls_key",
            "balikan_listen",
            "balikan_tls",
            "seed",
            "population",
            "catalogue",
            "ip_policy",
            "balikan_keys",
            "unknown_method_status",
            "verify_error_respon",
            "durable_answers",
            "id_numbers",
            "date_format",
            "strict_operator",
            "admin_token",
            "admin_remote",
            "journal_cap",
            "agreements",
            "agreements_replace",
            "institutions",
            "fault_seed",
            "faults",
            "enforce_access_methods",
            "portal",
            "portal_operators",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let inst = table["institutions"]["rsud_3313"].as_table().unwrap();
        let mut inst_keys: Vec<&str> = inst.keys().map(String::as_str).collect();
        inst_keys.sort_unstable();
        assert_eq!(
            inst_keys,
            [
                "access_hours",
                "active",
                "balikan_keys",
                "ip_policy",
                "ip_user",
                "methods",
                "quota_per_day",
                "user_active"
            ]
        );
        let s = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.admin_token.as_deref(), Some("ganti-token-admin"));
        assert_eq!(s.institutions["rsud_3313"].quota_per_day, Some(500));
        assert_eq!(
            s.institutions["rsud_3313"].methods.as_ref().unwrap()["GET_NIK"],
            Service::Lookup
        );
    }

    #[test]
    fn method_names_and_statuses_are_checked_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mock.toml");
        for (text, line, says) in [
            (
                "seed = 1\n[institutions.rsud_3313]\nmethods = { \"CALL NIK\" = \"lookup\" }\n",
                2,
                "CALL NIK",
            ),
            (
                "[institutions.rsud_3313]\nmethods = { CALL_NIK = \"lookup\", call_nik = \"lookup\" }\n",
                1,
                "named twice",
            ),
            ("seed = 1\nunknown_method_status = 99\n", 2, "200-599"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Settings::resolve(&ServeArgs {
                config: Some(path.clone()),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(e.contains(&format!("mock.toml:{line}:")), "{e}");
            assert!(e.contains(says), "{e}");
        }
        std::fs::write(
            &path,
            "[institutions.rsud_3313]\nmethods = { CALL_NIK = \"search\" }\n",
        )
        .unwrap();
        let e = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("lookup") && e.contains("verification"), "{e}");
    }

    #[test]
    fn a_missing_file_says_its_cause_once() {
        let err = Settings::resolve(&ServeArgs {
            config: Some("/no/such/mock.toml".into()),
            ..Default::default()
        })
        .unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(
            chain,
            "cannot read settings file /no/such/mock.toml: no such file or directory"
        );
    }

    #[test]
    fn access_hours_wrap_midnight() {
        let h: AccessHours = "22:00-06:00".parse().unwrap();
        assert!(h.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(h.contains(NaiveTime::from_hms_opt(5, 59, 0).unwrap()));
        assert!(!h.contains(NaiveTime::from_hms_opt(12, 0, 0).unwrap()));
    }
}
