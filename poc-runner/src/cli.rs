//! The command line: `keygen`, `verify`, `run`. Exit codes are part of the interface.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::file_error::FileErrors;
use crate::result::{self, ResultError};
use crate::scenario::ScenarioPack;
use crate::target::Target;
use crate::Lang;

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// All checks passed (`run`); the result verified (`verify`); key written (`keygen`).
    AllPassed = 0,
    /// Some check failed or needs review (`run`); verification failed (`verify`).
    ChecksFailed = 1,
    /// Bad arguments, or a scenario, target, key or result file that cannot be used.
    UsageOrFile = 2,
    /// The application or the mock did not answer.
    Unreachable = 3,
    /// The result could not be signed (or a key could not be created).
    SigningFailed = 4,
}

#[derive(Debug, Parser)]
#[command(
    name = "poc-runner",
    version,
    about = "Scripted PoC sessions against an agency application, ending in a signed result."
)]
#[command(
    after_help = "Exit codes: 0 all passed, 1 checks failed (or verification failed), 2 usage or file error, 3 application or mock unreachable, 4 signing failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an Ed25519 signing key: FILE (OpenSSH private key) and FILE.pub.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Comment stored in the key (e.g. the assessor's e-mail).
        #[arg(long, default_value = "poc-runner")]
        comment: String,
    },
    /// Verify a result directory: signature, HTML hash, journal hash chain, verdict.
    Verify {
        dir: PathBuf,
        /// The assessor's public key (OpenSSH `.pub`); without it the key named in the document is used.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
    /// Run a PoC session (validates the scenario and target files; the session driver is not built yet).
    Run {
        #[arg(long, value_name = "PATH")]
        scenario: PathBuf,
        #[arg(long, value_name = "PATH")]
        target: PathBuf,
        #[arg(long, value_name = "URL")]
        mock_url: Option<String>,
        #[arg(long, value_name = "DIR", default_value = "poc-result")]
        out: PathBuf,
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[arg(long, value_name = "NAME")]
        assessor: Option<String>,
        #[arg(long, value_enum, default_value_t = Lang::Id)]
        lang: Lang,
    },
}

/// A failure of a command, carrying its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Files(#[from] FileErrors),
    #[error("{0}")]
    Result(#[from] ResultError),
    #[error("{0}")]
    Unreachable(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Files(_) => ExitCode::UsageOrFile,
            CliError::Result(ResultError::Sign(_)) => ExitCode::SigningFailed,
            CliError::Result(_) => ExitCode::UsageOrFile,
            CliError::Unreachable(_) => ExitCode::Unreachable,
        }
    }
}

/// Runs the command line; prints reports on stdout. `Err` carries the message and exit code.
pub fn run<I, T>(args: I) -> Result<ExitCode, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                ExitCode::UsageOrFile
            } else {
                ExitCode::AllPassed
            };
            let _ = e.print();
            return Ok(code);
        }
    };
    match cli.command {
        Command::Keygen { out, comment } => {
            let public = result::keygen(&out, &comment)?;
            println!("wrote {} and {}.pub", out.display(), out.display());
            println!(
                "fingerprint {}",
                public.fingerprint(ssh_key::HashAlg::Sha256)
            );
            Ok(ExitCode::AllPassed)
        }
        Command::Verify { dir, public_key } => {
            let trusted = match public_key {
                Some(p) => Some(ssh_key::PublicKey::read_openssh_file(&p).map_err(|e| {
                    CliError::Usage(format!("{}: not an OpenSSH public key: {e}", p.display()))
                })?),
                None => None,
            };
            let items = result::verify_dir(&dir, trusted.as_ref())?;
            let mut failed = Vec::new();
            for i in &items {
                println!(
                    "{} {:<9} {}",
                    if i.ok { "OK  " } else { "FAIL" },
                    i.what,
                    i.detail
                );
                if !i.ok {
                    failed.push(i.what);
                }
            }
            if failed.is_empty() {
                println!("{} verified", dir.display());
                println!(
                    "the same with OpenSSH: ssh-keygen -Y verify -f allowed_signers -I <identity> -n {} -s {} < {}",
                    result::NAMESPACE,
                    dir.join(result::SIG_FILE).display(),
                    dir.join(result::JSON_FILE).display()
                );
                Ok(ExitCode::AllPassed)
            } else {
                println!(
                    "{}: verification failed: {}",
                    dir.display(),
                    failed.join(", ")
                );
                Ok(ExitCode::ChecksFailed)
            }
        }
        Command::Run {
            scenario,
            target,
            out,
            key,
            ..
        } => {
            let pack = ScenarioPack::load(&scenario);
            let tgt = Target::load(&target);
            let mut errors = Vec::new();
            if let Err(e) = &pack {
                errors.extend(e.0.iter().cloned());
            }
            if let Err(e) = &tgt {
                errors.extend(e.0.iter().cloned());
            }
            if !errors.is_empty() {
                return Err(CliError::Files(FileErrors(errors)));
            }
            if let (Ok(pack), Ok(tgt)) = (&pack, &tgt) {
                let agreement = &tgt.agreement.id;
                if !pack
                    .file
                    .pack
                    .agreements
                    .iter()
                    .any(|a| a.get_ref() == agreement)
                {
                    return Err(CliError::Usage(format!(
                        "{}: agreement `{agreement}` is not one this scenario pack ({}) is written for",
                        target.display(),
                        pack.id()
                    )));
                }
            }
            if let Some(k) = &key {
                result::read_private_key(k)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", k.display())))?;
            }
            if out.exists()
                && std::fs::read_dir(&out)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                return Err(CliError::Result(ResultError::OutExists(out)));
            }
            Err(CliError::Usage(format!(
                "{} and {} are valid, but the session driver is not built yet: `run` cannot play a session in this version",
                scenario.display(),
                target.display()
            )))
        }
    }
}
