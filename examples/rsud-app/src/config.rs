//! Configuration: a TOML file, then `RSUD_APP_*` environment variables on top (env wins, so a
//! deployment can keep secrets out of the file).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// Known misbehaviours the application can be switched into, each the way real applications
/// get it wrong. They exist so the PoC harness can prove that each of its checks catches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Defect {
    /// Keeps the gateway's answer in its own database.
    StoreAnswer,
    /// Keeps answers in an in-memory cache and serves repeats from it.
    CacheAnswers,
    /// Writes gateway answers to its log file.
    LogAnswers,
    /// Sends one constant `User_ID` whoever is logged in.
    ConstantUserId,
    /// Sends no `User_ID` at all.
    NoUserId,
    /// Sends the institutional user id as `User_ID`.
    InstitutionalUserId,
    /// Shows every element the gateway returns instead of its own whitelist.
    UnfilteredFields,
    /// Calls the gateway twice per lookup.
    DoubleCall,
    /// Each lookup also looks up the NIKs following the looked-up NIK, before answering.
    SequentialJob,
    /// Answers the operator, then "refreshes" the record in the background: a second call for
    /// the same NIK half a second later, after the operator's action is over.
    LateRefresh,
    /// Retries without bound on errors and after `05`.
    UnboundedRetry,
    /// Never sends data balikan.
    NoBalikan,
    /// Sends balikan without the agreement's required keys (`NO_RM` for a hospital).
    BalikanMissingField,
    /// Sends only the required balikan keys: optional values the operator entered (a blood
    /// type, a JKN number, a business name) are left out.
    DropsBalikanValue,
    /// Treats any non-empty `content` as found data, error objects included.
    ErrorAsFound,
    /// Parses `NIK`/`NO_KK` through a double.
    FloatNik,
    /// Logs the request body, institutional password included.
    LogPassword,
}

impl Defect {
    pub(crate) const ALL: &'static [Defect] = &[
        Defect::StoreAnswer,
        Defect::CacheAnswers,
        Defect::LogAnswers,
        Defect::ConstantUserId,
        Defect::NoUserId,
        Defect::InstitutionalUserId,
        Defect::UnfilteredFields,
        Defect::DoubleCall,
        Defect::SequentialJob,
        Defect::LateRefresh,
        Defect::UnboundedRetry,
        Defect::NoBalikan,
        Defect::BalikanMissingField,
        Defect::DropsBalikanValue,
        Defect::ErrorAsFound,
        Defect::FloatNik,
        Defect::LogPassword,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Defect::StoreAnswer => "store-answer",
            Defect::CacheAnswers => "cache-answers",
            Defect::LogAnswers => "log-answers",
            Defect::ConstantUserId => "constant-user-id",
            Defect::NoUserId => "no-user-id",
            Defect::InstitutionalUserId => "institutional-user-id",
            Defect::UnfilteredFields => "unfiltered-fields",
            Defect::DoubleCall => "double-call",
            Defect::SequentialJob => "sequential-job",
            Defect::LateRefresh => "late-refresh",
            Defect::UnboundedRetry => "unbounded-retry",
            Defect::NoBalikan => "no-balikan",
            Defect::BalikanMissingField => "balikan-missing-field",
            Defect::DropsBalikanValue => "drops-balikan-value",
            Defect::ErrorAsFound => "error-as-found",
            Defect::FloatNik => "float-nik",
            Defect::LogPassword => "log-password",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A defect name that is not one of [`Defect`]'s; holds the name as given.
#[derive(Debug, thiserror::Error)]
#[error("unknown defect `{0}` (known: {known})", known = Defect::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownDefect(pub(crate) String);

impl FromStr for Defect {
    type Err = UnknownDefect;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Defect::ALL
            .iter()
            .copied()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDefect(s.to_string()))
    }
}

/// The switched-on defects; empty for the compliant application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Defects(BTreeSet<Defect>);

impl Defects {
    pub(crate) fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Defect> + '_ {
        self.0.iter().copied()
    }

    /// Parses a comma-separated list (`RSUD_APP_DEFECTS=a,b`); blanks are ignored.
    pub(crate) fn parse_list(list: &str) -> Result<Defects, UnknownDefect> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Defects)
    }
}

impl FromIterator<Defect> for Defects {
    fn from_iter<T: IntoIterator<Item = Defect>>(iter: T) -> Self {
        Defects(iter.into_iter().collect())
    }
}

/// Institutional credentials issued by Disdukcapil.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Institutional `user_id` sent in every `CALL_NIK` body.
    pub user_id: String,
    /// Institutional `password` sent in every `CALL_NIK` body.
    pub password: String,
    /// Registered `ip_user` sent in every `CALL_NIK` body.
    pub ip_user: String,
    /// Bearer token for the data balikan endpoint.
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

/// Configured credentials; each one left out falls back to the agreement profile's dummy
/// credentials (what Disdukcapil issues for the test environment).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    pub(crate) user_id: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) ip_user: Option<String>,
    pub(crate) balikan_token: Option<String>,
}

impl fmt::Debug for CredentialsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsConfig")
            .field("user_id", &self.user_id)
            .field("ip_user", &self.ip_user)
            .finish_non_exhaustive()
    }
}

impl CredentialsConfig {
    /// The credentials to use: each configured value, or `dummy`'s where none is configured.
    pub fn resolve(&self, dummy: &dukcapil_domain::DummyCredentials) -> Credentials {
        let or = |v: &Option<String>, d: &String| v.clone().unwrap_or_else(|| d.clone());
        Credentials {
            user_id: or(&self.user_id, &dummy.user_id),
            password: or(&self.password, &dummy.password),
            ip_user: or(&self.ip_user, &dummy.ip_user),
            balikan_token: or(&self.balikan_token, &dummy.balikan_token),
        }
    }
}

/// An operator account seeded at startup: created, or its password updated, and stored with an
/// Argon2id hash of the password.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OperatorSeed {
    /// Login name; also sent as `User_ID` for this operator's lookups.
    pub username: String,
    /// Plain-text password, hashed before it is stored.
    pub password: String,
}

impl fmt::Debug for OperatorSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorSeed")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The file form; every key optional so env vars alone can configure the app.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<String>,
    database: Option<PathBuf>,
    log_file: Option<PathBuf>,
    gateway_url: Option<String>,
    agreement: Option<String>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    credentials: Option<CredentialsConfig>,
    #[serde(default)]
    operators: Vec<OperatorSeed>,
    #[serde(default)]
    defects: Vec<String>,
}

/// The resolved configuration: file values with the environment on top, defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Socket address to listen on (default `127.0.0.1:0`).
    pub listen: String,
    /// The application's own SQLite file.
    pub database: PathBuf,
    /// Log file (NIKs masked).
    pub log_file: PathBuf,
    /// Gateway base URL, without a trailing `/`.
    pub(crate) gateway_url: String,
    /// Id of the shipped agreement profile the app works under (default `rsud-karanganyar`).
    pub agreement: String,
    /// Per attempt, connect to last byte.
    pub(crate) timeout_ms: u64,
    /// Extra attempts after the first on a transport fault.
    pub(crate) retries: u32,
    /// Institutional credentials as configured (see [`CredentialsConfig::resolve`]).
    pub credentials: CredentialsConfig,
    /// Operator accounts to seed at startup.
    pub operators: Vec<OperatorSeed>,
    pub(crate) defects: Defects,
}

/// Why the configuration could not be loaded (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown or mistyped key.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message.
        message: String,
    },
    /// A defect name in the file or `RSUD_APP_DEFECTS` is unknown.
    #[error("{origin}: {source}")]
    Defect {
        /// Where the name came from.
        origin: String,
        /// The unknown name.
        source: UnknownDefect,
    },
    /// An environment variable has an unusable value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong with its value.
        message: String,
    },
}

impl Config {
    /// Reads `path` (if any), then applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                let mut file = Self::parse_file(&text, p)?;
                // Paths in the file are relative to the file, like the PoC target file's
                // storage paths, so the two can sit side by side; env paths stay relative to
                // the working directory.
                let base = p.parent().unwrap_or(Path::new(""));
                for path in [&mut file.database, &mut file.log_file]
                    .into_iter()
                    .flatten()
                {
                    if path.is_relative() {
                        *path = base.join(&*path);
                    }
                }
                file
            }
            None => ConfigFile::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::build(file, env)
    }

    /// Parses a config file's text; `origin` names it in errors.
    #[cfg(test)]
    pub(crate) fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        Self::build(Self::parse_file(text, origin)?, |_| None)
    }

    fn parse_file(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn build(
        file: ConfigFile,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let num = |name: &str| -> Result<Option<u64>, ConfigError> {
            env(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|e| ConfigError::Env {
                        name: name.into(),
                        message: e.to_string(),
                    })
                })
                .transpose()
        };
        let mut defects: Defects = file
            .defects
            .iter()
            .map(|d| d.parse())
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Defects)
            .map_err(|source| ConfigError::Defect {
                origin: "config `defects`".into(),
                source,
            })?;
        if let Some(list) = env("RSUD_APP_DEFECTS") {
            let extra = Defects::parse_list(&list).map_err(|source| ConfigError::Defect {
                origin: "RSUD_APP_DEFECTS".into(),
                source,
            })?;
            defects.0.extend(extra.0);
        }
        let mut credentials = file.credentials.unwrap_or_default();
        for (name, slot) in [
            ("RSUD_APP_USER_ID", &mut credentials.user_id),
            ("RSUD_APP_PASSWORD", &mut credentials.password),
            ("RSUD_APP_IP_USER", &mut credentials.ip_user),
            ("RSUD_APP_BALIKAN_TOKEN", &mut credentials.balikan_token),
        ] {
            if let Some(v) = env(name) {
                *slot = Some(v);
            }
        }
        let mut operators = file.operators;
        if let Some(list) = env("RSUD_APP_OPERATORS") {
            for item in list.split(',').filter(|s| !s.trim().is_empty()) {
                let (u, p) = item.split_once(':').ok_or_else(|| ConfigError::Env {
                    name: "RSUD_APP_OPERATORS".into(),
                    message: "expected username:password[,username:password...]".into(),
                })?;
                operators.retain(|o| o.username != u.trim());
                operators.push(OperatorSeed {
                    username: u.trim().into(),
                    password: p.into(),
                });
            }
        }
        Ok(Config {
            listen: env("RSUD_APP_LISTEN")
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:0".into()),
            database: env("RSUD_APP_DATABASE")
                .map(PathBuf::from)
                .or(file.database)
                .unwrap_or_else(|| "rsud-app.sqlite".into()),
            log_file: env("RSUD_APP_LOG_FILE")
                .map(PathBuf::from)
                .or(file.log_file)
                .unwrap_or_else(|| "rsud-app.log".into()),
            gateway_url: env("RSUD_APP_GATEWAY_URL")
                .or(file.gateway_url)
                .unwrap_or_else(|| "http://127.0.0.1:8000".into())
                .trim_end_matches('/')
                .to_string(),
            agreement: env("RSUD_APP_AGREEMENT")
                .or(file.agreement)
                .unwrap_or_else(|| "rsud-karanganyar".into()),
            timeout_ms: num("RSUD_APP_TIMEOUT_MS")?
                .or(file.timeout_ms)
                .unwrap_or(5_000),
            retries: num("RSUD_APP_RETRIES")?
                .map(|n| n.min(10) as u32)
                .or(file.retries)
                .unwrap_or(2),
            credentials,
            operators,
            defects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_defect_name_round_trips() {
        for d in Defect::ALL {
            assert_eq!(d.name().parse::<Defect>().unwrap(), *d);
        }
        let err = "no-such".parse::<Defect>().unwrap_err().to_string();
        assert!(
            err.contains("no-such") && err.contains("float-nik"),
            "{err}"
        );
    }

    #[test]
    fn env_overrides_file_and_adds_defects() {
        let file: ConfigFile = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            gateway_url = "http://mock:1/"
            defects = ["double-call"]
            [credentials]
            user_id = "rsud_3313"
            password = "from-file"
            ip_user = "127.0.0.1"
            balikan_token = "t"
            [[operators]]
            username = "a"
            password = "pa"
            "#,
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("RSUD_APP_DEFECTS", "float-nik, log-password"),
            ("RSUD_APP_PASSWORD", "from-env"),
            ("RSUD_APP_OPERATORS", "a:new,b:pb"),
        ]
        .into();
        let cfg = Config::build(file, |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9000");
        assert_eq!(cfg.gateway_url, "http://mock:1");
        let d: Vec<_> = cfg.defects.iter().collect();
        assert_eq!(
            d,
            vec![Defect::DoubleCall, Defect::FloatNik, Defect::LogPassword]
        );
        let dummy = dukcapil_domain::DummyCredentials {
            user_id: "d".into(),
            password: "d".into(),
            ip_user: "d".into(),
            balikan_token: "dummy-token".into(),
        };
        let c = cfg.credentials.resolve(&dummy);
        assert_eq!(
            (
                c.user_id.as_str(),
                c.password.as_str(),
                c.balikan_token.as_str()
            ),
            ("rsud_3313", "from-env", "t")
        );
        let partial = Config::build(ConfigFile::default(), |k| {
            (k == "RSUD_APP_PASSWORD").then(|| "p".to_string())
        })
        .unwrap()
        .credentials
        .resolve(&dummy);
        assert_eq!(
            (partial.user_id.as_str(), partial.password.as_str()),
            ("d", "p")
        );
        assert_eq!(cfg.operators.len(), 2);
        assert_eq!(cfg.operators[0].password, "new");
        assert!(!format!("{c:?}").contains("from-env"));
    }

    #[test]
    fn bad_defect_and_bad_key_are_reported() {
        let e = Config::from_toml("defects = [\"nope\"]", Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = Config::from_toml("lisen = \"x\"", Path::new("x.toml")).unwrap_err();
        assert!(
            e.to_string().contains("x.toml") && e.to_string().contains("lisen"),
            "{e}"
        );
    }
}
