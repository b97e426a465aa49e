//! Configuration: command-line flags (each also readable from a `PUSKESMAS_APP_*` environment
//! variable), then the TOML file, then defaults. Flags win so one file serves every desk.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Parser;
use serde::Deserialize;

/// `puskesmas-app [--config FILE] [flags]`: serves until interrupted and prints
/// `listening on http://ADDR` once it accepts connections.
#[derive(Debug, Default, Parser)]
#[command(
    name = "puskesmas-app",
    version,
    about = "Loket pendaftaran puskesmas terhubung ke layanan Dukcapil (aplikasi referensi)"
)]
pub(crate) struct Cli {
    /// TOML configuration file (paths in it are relative to the file).
    #[arg(long, env = "PUSKESMAS_APP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address; port 0 picks a free port (default 127.0.0.1:0).
    #[arg(long, env = "PUSKESMAS_APP_LISTEN")]
    pub listen: Option<String>,
    /// SQLite file of the desk (operators, visits).
    #[arg(long, env = "PUSKESMAS_APP_DATABASE")]
    pub database: Option<PathBuf>,
    /// Agreement profile id (default dinkes-purbalingga).
    #[arg(long, env = "PUSKESMAS_APP_AGREEMENT")]
    pub agreement: Option<String>,
    /// Base URL of the Dukcapil gateway (or the mock).
    #[arg(long, env = "PUSKESMAS_APP_GATEWAY_URL")]
    pub gateway_url: Option<String>,
    /// Institutional user id (default: the agreement's dummy one).
    #[arg(long, env = "PUSKESMAS_APP_GATEWAY_USER_ID")]
    pub gateway_user_id: Option<String>,
    #[arg(long, env = "PUSKESMAS_APP_GATEWAY_PASSWORD", hide_env_values = true)]
    pub gateway_password: Option<String>,
    #[arg(long, env = "PUSKESMAS_APP_IP_USER")]
    pub ip_user: Option<String>,
    #[arg(long, env = "PUSKESMAS_APP_BALIKAN_TOKEN", hide_env_values = true)]
    pub balikan_token: Option<String>,
    /// Per attempt, connect to last byte.
    #[arg(long, env = "PUSKESMAS_APP_TIMEOUT_MS")]
    pub timeout_ms: Option<u64>,
    /// Extra attempts after a transport fault.
    #[arg(long, env = "PUSKESMAS_APP_RETRIES")]
    pub retries: Option<u32>,
    /// Operators as `user:password,user:password` (replaces the file's list).
    #[arg(long, env = "PUSKESMAS_APP_OPERATORS", hide_env_values = true)]
    pub operators: Option<String>,
    /// Defect switches, comma-separated (see README); empty for the compliant desk.
    #[arg(long, env = "PUSKESMAS_APP_DEFECTS")]
    pub defects: Option<String>,
    /// Pause between two rounds of the `background-crawler` defect.
    #[arg(long, env = "PUSKESMAS_APP_CRAWLER_INTERVAL_MS")]
    pub crawler_interval_ms: Option<u64>,
}

/// Realistic violations the desk can be switched into, so the PoC harness can prove that each
/// of its checks catches one. None announces itself in a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Defect {
    /// Keeps every found resident's data in table `arsip_penduduk` "to prefill the next visit".
    StoresAnswers,
    /// Sends `User_ID: "sistem.puskesmas"` whoever is at the desk.
    ConstantUserId,
    /// Shows the mother's name (`NAMA_LGKP_IBU`, wanted on BPJS forms) when the gateway sends it.
    ShowsExtraElement,
    /// Leaves the agreement's last balikan key the operator entered (`NO_JKN` under Purbalingga) out
    /// of the data balikan.
    DropsBalikanValue,
    /// A background task that looks up the NIKs following the last one looked up.
    BackgroundCrawler,
    /// Retries transport faults and `05` without limit or backoff.
    UnboundedRetries,
}

impl Defect {
    pub(crate) const ALL: &'static [Defect] = &[
        Defect::StoresAnswers,
        Defect::ConstantUserId,
        Defect::ShowsExtraElement,
        Defect::DropsBalikanValue,
        Defect::BackgroundCrawler,
        Defect::UnboundedRetries,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Defect::StoresAnswers => "stores-answers",
            Defect::ConstantUserId => "constant-user-id",
            Defect::ShowsExtraElement => "shows-extra-element",
            Defect::DropsBalikanValue => "drops-balikan-value",
            Defect::BackgroundCrawler => "background-crawler",
            Defect::UnboundedRetries => "unbounded-retries",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Defect::ALL
            .iter()
            .copied()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                ConfigError(format!(
                    "unknown defect `{s}` (known: {})",
                    Defect::ALL
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

/// The switched-on defects; empty for the compliant desk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Defects(BTreeSet<Defect>);

impl Defects {
    pub(crate) fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }

    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|d| d.name()).collect()
    }

    fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Defects, ConfigError> {
        items
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Defects)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ConfigError(pub String);

/// Institutional credentials issued by Disdukcapil.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub user_id: String,
    pub password: String,
    pub ip_user: String,
    pub balikan_token: String,
}

// Hand-written so the password and token never reach a log through `{:?}`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .field("ip_user", &self.ip_user)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperatorSeed {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for OperatorSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorSeed")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayFile {
    url: Option<String>,
    user_id: Option<String>,
    password: Option<String>,
    ip_user: Option<String>,
    balikan_token: Option<String>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<String>,
    database: Option<PathBuf>,
    agreement: Option<String>,
    #[serde(default)]
    defects: Vec<String>,
    crawler_interval_ms: Option<u64>,
    #[serde(default)]
    gateway: GatewayFile,
    #[serde(default)]
    operators: Vec<OperatorSeed>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub listen: String,
    pub database: PathBuf,
    pub agreement: dukcapil_domain::Agreement,
    pub gateway_url: String,
    pub credentials: Credentials,
    pub timeout_ms: u64,
    pub retries: u32,
    pub operators: Vec<OperatorSeed>,
    pub defects: Defects,
    pub crawler_interval_ms: u64,
}

impl Config {
    pub(crate) fn resolve(cli: Cli) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(p) => read_file(p)?,
            None => ConfigFile::default(),
        };
        let agreement_id = cli
            .agreement
            .or(file.agreement)
            .unwrap_or_else(|| "dinkes-purbalingga".into());
        let agreement = dukcapil_domain::Agreement::embedded()
            .into_iter()
            .find(|a| a.id == agreement_id)
            .ok_or_else(|| ConfigError(format!("unknown agreement `{agreement_id}`")))?;
        let dummy = &agreement.credentials;
        let g = file.gateway;
        let credentials = Credentials {
            user_id: cli
                .gateway_user_id
                .or(g.user_id)
                .unwrap_or_else(|| dummy.user_id.clone()),
            password: cli
                .gateway_password
                .or(g.password)
                .unwrap_or_else(|| dummy.password.clone()),
            ip_user: cli
                .ip_user
                .or(g.ip_user)
                .unwrap_or_else(|| dummy.ip_user.clone()),
            balikan_token: cli
                .balikan_token
                .or(g.balikan_token)
                .unwrap_or_else(|| dummy.balikan_token.clone()),
        };
        let gateway_url = cli
            .gateway_url
            .or(g.url)
            .unwrap_or_else(|| "http://127.0.0.1:8000".into())
            .trim_end_matches('/')
            .to_string();
        if !(gateway_url.starts_with("http://") || gateway_url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "gateway url: expected http:// or https://, found `{gateway_url}`"
            )));
        }
        let operators = match cli.operators {
            Some(list) => parse_operators(&list)?,
            None => file.operators,
        };
        let mut seen = BTreeSet::new();
        for o in &operators {
            if o.username.trim().is_empty() || o.password.is_empty() {
                return Err(ConfigError("operators: empty username or password".into()));
            }
            if !seen.insert(o.username.as_str()) {
                return Err(ConfigError(format!(
                    "operators: duplicate `{}`",
                    o.username
                )));
            }
        }
        let defects = match &cli.defects {
            Some(list) => Defects::parse(list.split(','))?,
            None => Defects::parse(file.defects.iter().map(String::as_str))?,
        };
        let timeout_ms = cli.timeout_ms.or(g.timeout_ms).unwrap_or(5000);
        if timeout_ms == 0 {
            return Err(ConfigError("timeout_ms: expected more than 0".into()));
        }
        Ok(Config {
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:0".into()),
            database: cli
                .database
                .or(file.database)
                .unwrap_or_else(|| PathBuf::from("puskesmas.sqlite")),
            agreement,
            gateway_url,
            credentials,
            timeout_ms,
            retries: cli.retries.or(g.retries).unwrap_or(2).min(5),
            operators,
            defects,
            crawler_interval_ms: cli
                .crawler_interval_ms
                .or(file.crawler_interval_ms)
                .unwrap_or(2000)
                .max(100),
        })
    }
}

fn read_file(p: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", p.display())))?;
    let mut file: ConfigFile = toml::from_str(&text)
        .map_err(|e| ConfigError(format!("config file {}: {e}", p.display())))?;
    if let Some(db) = &mut file.database {
        if db.is_relative() {
            *db = p.parent().unwrap_or(Path::new("")).join(&*db);
        }
    }
    Ok(file)
}

fn parse_operators(list: &str) -> Result<Vec<OperatorSeed>, ConfigError> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|pair| {
            let (u, p) = pair.split_once(':').ok_or_else(|| {
                ConfigError("operators: expected `user:password,user:password`".into())
            })?;
            Ok(OperatorSeed {
                username: u.trim().to_string(),
                password: p.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defects_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(
            &f,
            "database = \"d/p.sqlite\"\ndefects = [\"stores-answers\"]\n[gateway]\nurl = \"http://127.0.0.1:9\"\n[[operators]]\nusername = \"a\"\npassword = \"b\"\n",
        )
        .unwrap();
        let c = Config::resolve(Cli {
            config: Some(f.clone()),
            gateway_url: Some("http://127.0.0.1:7/".into()),
            ..Cli::default()
        })
        .unwrap();
        assert_eq!(c.gateway_url, "http://127.0.0.1:7");
        assert_eq!(c.database, dir.path().join("d/p.sqlite"));
        assert!(c.defects.has(Defect::StoresAnswers));
        assert_eq!(c.credentials.user_id, "dinkes_3303");
        assert_eq!(c.operators.len(), 1);
        let e = Config::resolve(Cli {
            defects: Some("stores-answers,typo".into()),
            ..Cli::default()
        })
        .unwrap_err();
        assert!(e.0.contains("unknown defect `typo`"), "{e}");
        let c = Config::resolve(Cli {
            defects: Some(String::new()),
            operators: Some("x:1,y:2".into()),
            ..Cli::default()
        })
        .unwrap();
        assert_eq!(c.defects, Defects::default());
        assert_eq!(c.operators[1].username, "y");
        assert!(Config::resolve(Cli {
            operators: Some("x:1,x:2".into()),
            ..Cli::default()
        })
        .is_err());
    }
}
