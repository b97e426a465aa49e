//! The command line: `keygen`, `verify`, `diff`, `run`, `demo`. Exit codes are part of the interface.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::checks::{CheckOutcome, Verdict};
use crate::file_error::FileErrors;
use crate::result::{
    self, AgreementInfo, ApplicationInfo, DatasetInfo, ResultError, ScenarioInfo, SessionRecord,
};
use crate::scenario::ScenarioPack;
use crate::session;
use crate::target::Target;
use crate::Lang;

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// All checks passed (`run`); the result verified (`verify`); key written (`keygen`).
    AllPassed = 0,
    /// Some check failed or needs review (`run`); verification failed (`verify`), including a
    /// signer that the given trust anchor does not admit.
    ChecksFailed = 1,
    /// Bad arguments, or a scenario, target, key or result file that cannot be used.
    UsageOrFile = 2,
    /// The application or the mock did not answer.
    Unreachable = 3,
    /// The result could not be signed (or a key could not be created).
    SigningFailed = 4,
    /// `verify`: the result is internally consistent, but no trust anchor was given or
    /// configured, so nobody vouches for its signer.
    SignerNotTrusted = 5,
    /// The session was interrupted (Ctrl-C, SIGTERM): nothing was written.
    Interrupted = 130,
}

#[derive(Debug, Parser)]
#[command(
    name = "poc-runner",
    version,
    about = "Scripted PoC sessions against an agency application, ending in a signed result."
)]
#[command(
    after_help = "Exit codes: 0 all passed, 1 checks failed (or verification failed), 2 usage or file error, 3 application or mock unreachable, 4 signing failed, 5 verify: consistent but the signer is not trusted (no trust anchor), 130 interrupted (nothing written)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an Ed25519 signing key: FILE (OpenSSH private key) and FILE.pub.
    Keygen {
        /// Where to write the private key (FILE, mode 0600) and its public half (FILE.pub).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Comment stored in the key (e.g. the assessor's e-mail).
        #[arg(long, default_value = "poc-runner")]
        comment: String,
    },
    /// Verify a result directory: signature, trusted signer, every file's hash, journal hash
    /// chain, verdict.
    Verify {
        /// The result directory (poc-result.json, .sig, the letter and the JUnit file).
        dir: PathBuf,
        /// Trust exactly this public key (OpenSSH `.pub`).
        #[arg(long, value_name = "FILE", conflicts_with = "allowed_signers")]
        public_key: Option<PathBuf>,
        /// Trust the keys of an OpenSSH allowed_signers file, as the principals it lists.
        /// Without either option: $POC_TRUSTED_SIGNERS, else ~/.config/poc-runner/allowed_signers.
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
    },
    /// Compare two results (both verified first): application, pack, agreement, checks whose
    /// outcome changed, behaviour at the mock. For a re-PoC after a change to the application.
    Diff {
        /// The earlier result directory.
        old: PathBuf,
        /// The later result directory.
        new: PathBuf,
        /// Trust exactly this public key (OpenSSH `.pub`) for both results.
        #[arg(long, value_name = "FILE", conflicts_with = "allowed_signers")]
        public_key: Option<PathBuf>,
        /// Trust the keys of an OpenSSH allowed_signers file (default as for `verify`).
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        /// Language of the report.
        #[arg(long, value_enum, default_value_t = Lang::Id)]
        lang: Lang,
        /// Output form.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// Run a PoC session: start (or reach) the mock, drive the application, judge, sign.
    Run {
        /// The scenario pack: a TOML file, or the name of an embedded pack (e.g.
        /// standard-web-service; default: the embedded standard pack).
        #[arg(long, value_name = "PATH")]
        scenario: Option<PathBuf>,
        /// The target file: the application under test, its agreement and its driver.
        #[arg(long, value_name = "PATH")]
        target: PathBuf,
        /// A running mock; without it the runner starts `mock-server` itself. A shared mock
        /// (a regency sandbox) is touched for the target's institution only.
        #[arg(long, value_name = "URL")]
        mock_url: Option<String>,
        /// The admin token of the mock given by --mock-url (the sandbox operator's, or the
        /// institution's own).
        #[arg(long, value_name = "TOKEN", env = "POC_MOCK_ADMIN_TOKEN")]
        admin_token: Option<String>,
        /// Residents in the embedded mock's population.
        #[arg(long, default_value_t = 200)]
        population: u64,
        /// Factor on the pack's pauses and balikan waits (written for people at a screen).
        #[arg(long, default_value_t = 0.01)]
        pause_scale: f64,
        /// Result directory to write (must be missing or empty).
        #[arg(long, value_name = "DIR", default_value = "poc-result")]
        out: PathBuf,
        /// Signing key (OpenSSH Ed25519, from `keygen`); without it a one-off key signs.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// The assessor's name on the letter (default: Tim PoC Disdukcapil).
        #[arg(long, value_name = "NAME")]
        assessor: Option<String>,
        /// The identity the key signs as (the principal of its allowed_signers line); default:
        /// the key's comment.
        #[arg(long, value_name = "ID")]
        principal: Option<String>,
        /// The issuing office's profile (kop surat, signatory, PKS per agreement), e.g.
        /// scenarios/offices/karanganyar.toml: the letter is then a surat dinas.
        #[arg(long, value_name = "FILE")]
        office: Option<PathBuf>,
        /// Language of the result letter, the JUnit texts and the console.
        #[arg(long, value_enum, default_value_t = Lang::Id)]
        lang: Lang,
    },
    /// One-command demo: mock + reference application (rsud-app) + standard pack, signed result.
    Demo {
        /// Result directory to write (must be missing or empty).
        #[arg(long, value_name = "DIR", default_value = "poc-out")]
        out: PathBuf,
        /// Signing key; without it a demo key is created next to the result (DIR.key).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// The scenario pack: a TOML file or an embedded pack's name (default: the embedded
        /// standard-web-service pack).
        #[arg(long, value_name = "PATH")]
        scenario: Option<PathBuf>,
        /// Language of the result letter, the JUnit texts and the console.
        #[arg(long, value_enum, default_value_t = Lang::Id)]
        lang: Lang,
    },
    /// Print a shell completion script (e.g. `poc-runner completions bash >
    /// /etc/bash_completion.d/poc-runner`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (poc-runner.1), or write one page per command into a directory.
    Man {
        /// Write poc-runner.1 and poc-runner-COMMAND.1 into this directory instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    /// A report for people.
    Text,
    /// The comparison as JSON, for programs.
    Json,
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
    #[error("{0}")]
    Session(String),
    #[error("the session was interrupted; nothing was written")]
    Interrupted,
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Files(_) => ExitCode::UsageOrFile,
            CliError::Result(ResultError::Sign(_)) => ExitCode::SigningFailed,
            CliError::Result(_) => ExitCode::UsageOrFile,
            CliError::Unreachable(_) => ExitCode::Unreachable,
            // A mock or application that would not start or misbehaved: nothing was judged.
            CliError::Session(_) => ExitCode::Unreachable,
            CliError::Interrupted => ExitCode::Interrupted,
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
        Command::Verify {
            dir,
            public_key,
            allowed_signers,
        } => verify(&dir, public_key, allowed_signers),
        Command::Diff {
            old,
            new,
            public_key,
            allowed_signers,
            lang,
            format,
        } => diff(&old, &new, public_key, allowed_signers, lang, format),
        Command::Run {
            scenario,
            target,
            mock_url,
            admin_token,
            population,
            pause_scale,
            out,
            key,
            assessor,
            principal,
            office,
            lang,
        } => {
            let (pack, tgt) = load_inputs(scenario.as_deref(), &target)?;
            let key = match &key {
                Some(k) => result::read_private_key(k)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", k.display())))?,
                None => ephemeral_key()?,
            };
            check_out(&out)?;
            let opts = session::Options {
                mock_url,
                admin_token,
                population,
                pause_scale,
                progress: true,
                lang,
            };
            let office = match &office {
                Some(p) => Some((result::office::OfficeProfile::load(p)?, p.clone())),
                None => None,
            };
            if let Some((o, p)) = &office {
                // Refused before the session, not after it.
                o.for_session(&tgt.agreement.id, chrono::Utc::now(), p)
                    .map_err(CliError::Usage)?;
            }
            let who = Signer {
                assessor,
                principal,
                office,
            };
            run_session(&pack, &tgt, &opts, &key, who, lang, &out)
        }
        Command::Demo {
            out,
            key,
            scenario,
            lang,
        } => demo(out, key, scenario, lang),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "poc-runner", &mut std::io::stdout());
            Ok(ExitCode::AllPassed)
        }
        Command::Man { out } => {
            man(<Cli as clap::CommandFactory>::command(), out.as_deref())?;
            Ok(ExitCode::AllPassed)
        }
    }
}

/// The man page on stdout, or one page per command into `dir`.
fn man(cmd: clap::Command, dir: Option<&Path>) -> Result<(), CliError> {
    use std::io::Write;
    let render = |page: clap::Command, title: &str| -> Result<Vec<u8>, CliError> {
        let mut text = Vec::new();
        clap_mangen::Man::new(page)
            .title(title)
            .render(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot render the man page: {e}")))?;
        Ok(text)
    };
    let name = cmd.get_name().to_string();
    let Some(dir) = dir else {
        let text = render(cmd, &name)?;
        return match std::io::stdout().lock().write_all(&text) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(CliError::Usage(format!("cannot write to stdout: {e}")))
            }
            _ => Ok(()),
        };
    };
    let io = |p: &Path, e: std::io::Error| {
        CliError::Usage(format!(
            "{}: {}",
            p.display(),
            crate::file_error::io_cause(&e)
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut pages = vec![(name.clone(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.push((format!("{name}-{}", sub.get_name()), sub.clone()));
    }
    for (title, page) in pages {
        let path = dir.join(format!("{title}.1"));
        std::fs::write(&path, render(page, &title)?).map_err(|e| io(&path, e))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The trust anchor of `verify` and `diff`: a key, an allowed_signers file, or the configured one.
fn anchor(
    public_key: Option<PathBuf>,
    allowed_signers: Option<PathBuf>,
) -> Result<Option<result::trust::TrustAnchor>, CliError> {
    use result::trust::TrustAnchor;
    Ok(match (public_key, allowed_signers) {
        (Some(p), _) => Some(TrustAnchor::public_key(&p).map_err(CliError::Usage)?),
        (None, Some(p)) => Some(
            TrustAnchor::allowed_signers(&p, format!("--allowed-signers {}", p.display()))
                .map_err(CliError::Usage)?,
        ),
        (None, None) => TrustAnchor::configured().map_err(CliError::Usage)?,
    })
}

/// Both results verified (a failure of either stops with exit 1 and names it), then compared.
/// Untrusted signers (no anchor) still get the comparison, with a warning and exit 5.
fn diff(
    old: &Path,
    new: &Path,
    public_key: Option<PathBuf>,
    allowed_signers: Option<PathBuf>,
    lang: Lang,
    format: DiffFormat,
) -> Result<ExitCode, CliError> {
    let anchor = anchor(public_key, allowed_signers)?;
    let mut untrusted = false;
    for dir in [old, new] {
        let v = result::verify_dir(dir, anchor.as_ref())?;
        if !v.consistent() || matches!(v.trust, result::Trust::Rejected(_)) {
            for i in v.items.iter().filter(|i| !i.ok) {
                eprintln!("FAIL {:<9} {}", i.what, i.detail);
            }
            eprintln!(
                "{}: verification failed: {}; nothing compared",
                dir.display(),
                v.failed().join(", ")
            );
            return Ok(ExitCode::ChecksFailed);
        }
        if v.trust == result::Trust::NoAnchor {
            untrusted = true;
            eprintln!(
                "{}: internally consistent, but the signer is not trusted (no trust anchor)",
                dir.display()
            );
        }
    }
    let d = result::diff::diff(&result::read_result(old)?, &result::read_result(new)?);
    match format {
        DiffFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&d).map_err(|e| CliError::Usage(e.to_string()))?
        ),
        DiffFormat::Text => print!("{}", result::diff::render_text(&d, lang)),
    }
    Ok(if untrusted {
        ExitCode::SignerNotTrusted
    } else {
        ExitCode::AllPassed
    })
}

fn verify(
    dir: &Path,
    public_key: Option<PathBuf>,
    allowed_signers: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    let anchor = anchor(public_key, allowed_signers)?;
    let v = result::verify_dir(dir, anchor.as_ref())?;
    for i in &v.items {
        println!(
            "{} {:<9} {}",
            if i.ok { "OK  " } else { "FAIL" },
            i.what,
            i.detail
        );
    }
    let failed = v.failed();
    let sig = dir.join(result::SIG_FILE);
    let json = dir.join(result::JSON_FILE);
    if failed.is_empty() {
        println!("{} verified", dir.display());
        println!(
            "the same with OpenSSH: ssh-keygen -Y verify -f allowed_signers -I <principal> -n {} -s {} < {}, then sha256sum -c over the files the JSON lists",
            result::NAMESPACE,
            sig.display(),
            json.display()
        );
        Ok(ExitCode::AllPassed)
    } else if v.consistent() && v.trust == result::Trust::NoAnchor {
        println!(
            "{}: internally consistent, but the signer is not trusted; give --public-key or --allowed-signers (or set ${})",
            dir.display(),
            result::trust::TRUSTED_SIGNERS_ENV
        );
        Ok(ExitCode::SignerNotTrusted)
    } else {
        println!(
            "{}: verification failed: {}",
            dir.display(),
            failed.join(", ")
        );
        Ok(ExitCode::ChecksFailed)
    }
}

/// Who signs a result: the assessor's name and the principal the key signs as.
struct Signer {
    assessor: Option<String>,
    principal: Option<String>,
    office: Option<(result::office::OfficeProfile, PathBuf)>,
}

fn load_inputs(scenario: Option<&Path>, target: &Path) -> Result<(ScenarioPack, Target), CliError> {
    let pack = crate::embedded::load_pack(scenario);
    let tgt = Target::load(target);
    let mut errors = Vec::new();
    if let Err(e) = &pack {
        errors.extend(e.0.iter().cloned());
    }
    if let Err(e) = &tgt {
        errors.extend(e.0.iter().cloned());
    }
    let (Ok(pack), Ok(tgt)) = (pack, tgt) else {
        return Err(CliError::Files(FileErrors(errors)));
    };
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
    Ok((pack, tgt))
}

fn check_out(out: &Path) -> Result<(), CliError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(CliError::Result(ResultError::OutExists(out.to_path_buf())));
    }
    Ok(())
}

/// A key for this result only: the document carries its public half, so `verify` and
/// `ssh-keygen -Y verify` still work; who signed is then only as trustworthy as the channel.
fn ephemeral_key() -> Result<ssh_key::PrivateKey, CliError> {
    eprintln!(
        "poc-runner: no --key given: signing with a one-off key (its public key is in the result)"
    );
    let dir = tempfile::tempdir()
        .map_err(|e| CliError::Usage(format!("cannot create a temporary key: {e}")))?;
    let path = dir.path().join("key");
    result::keygen(&path, "poc-runner one-off key")?;
    Ok(result::read_private_key(&path)?)
}

/// On Ctrl-C or SIGTERM: stop the mock and the application (the process may end before their
/// handles drop), let the session fail fast and report `Interrupted`; a session blocked on the
/// engineer's input is ended after a grace period. Nothing is written either way: the result is
/// only written, atomically, after the session.
fn on_interrupt_stop_children() {
    // A second registration (another `run` in the same process) keeps the first handler.
    let _ = ctrlc::set_handler(|| {
        crate::process::stop_children();
        std::thread::sleep(std::time::Duration::from_secs(5));
        eprintln!("error: the session was interrupted; nothing was written");
        std::process::exit(ExitCode::Interrupted as i32);
    });
}

fn run_session(
    pack: &ScenarioPack,
    tgt: &Target,
    opts: &session::Options,
    key: &ssh_key::PrivateKey,
    who: Signer,
    lang: Lang,
    out: &Path,
) -> Result<ExitCode, CliError> {
    on_interrupt_stop_children();
    let mut played = session::play(pack, tgt, opts).map_err(|e| match e {
        // The application and mock were stopped by the interrupt, not unreachable.
        _ if crate::process::interrupted() => CliError::Interrupted,
        session::SessionError::Unreachable(m) => CliError::Unreachable(m),
        e @ session::SessionError::Preflight(_) => CliError::Unreachable(e.to_string()),
        session::SessionError::Usage(m) => CliError::Usage(m),
        other => CliError::Session(other.to_string()),
    })?;
    if crate::process::interrupted() {
        return Err(CliError::Interrupted);
    }
    let app_output = std::mem::take(&mut played.app_output);
    let record = SessionRecord {
        session_id: format!("poc-{}", played.started_at.format("%Y%m%d-%H%M%S-%3f")),
        started_at: played.started_at,
        finished_at: played.finished_at,
        assessor: who.assessor.unwrap_or_else(|| "Tim PoC Disdukcapil".into()),
        principal: who.principal,
        office: match &who.office {
            Some((o, p)) => Some(
                o.for_session(&tgt.agreement.id, played.started_at, p)
                    .map_err(CliError::Usage)?,
            ),
            None => None,
        },
        application: ApplicationInfo {
            name: tgt.file.name.clone(),
            version: tgt.file.version.clone(),
            build: tgt.file.build.clone(),
        },
        agreement: AgreementInfo::of(&tgt.agreement),
        scenario: ScenarioInfo {
            id: pack.id().to_string(),
            version: pack.file.pack.version.clone(),
            sha256: pack.sha256.clone(),
            requirements_id: pack.requirements.id.clone(),
            requirements_sha256: pack.requirements.sha256.clone(),
            pause_scale: Some(opts.pause_scale.to_string()),
            window_ms: Some(played.window_ms),
        },
        // What the mock says it serves: the real hash of its population file, in every mode.
        mock_dataset: DatasetInfo {
            seed: Some(played.mock_dataset.seed),
            size: Some(played.mock_dataset.size),
            sha256: Some(played.mock_dataset.sha256.clone()),
        },
        checks: played.checks,
        journal: played.journal,
    };
    let app_output = app_output
        .iter()
        .map(|(stream, text)| (format!("app/{stream}.log"), redact(text, tgt).into_bytes()))
        .collect();
    let docs = result::build_documents_with(
        &record,
        key,
        lang,
        env!("CARGO_PKG_VERSION"),
        Some(&pack.requirements),
        app_output,
    )?;
    result::write_documents(&docs, out)?;
    let verdict = docs.result.verdict;
    let s = &docs.result.summary;
    let counts = match lang {
        Lang::Id => format!(
            "{} lulus, {} gagal, {} perlu ditinjau, {} dilewati, {} tidak teruji",
            s.pass, s.fail, s.needs_review, s.skipped, s.not_exercised
        ),
        Lang::En => format!(
            "{} pass, {} fail, {} needs review, {} skipped, {} not exercised",
            s.pass, s.fail, s.needs_review, s.skipped, s.not_exercised
        ),
    };
    println!("{}: {counts}", verdict.as_str());
    for c in &docs.result.checks {
        if matches!(
            c.outcome,
            CheckOutcome::Fail | CheckOutcome::NeedsReview | CheckOutcome::NotExercised
        ) {
            println!(
                "  {} {} {}: {}",
                c.outcome.label(lang).to_uppercase(),
                c.test_id,
                c.check,
                // The console speaks the run's language, like the letter.
                c.evidence
                    .iter()
                    .map(|e| e.text(lang))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    let letter = match lang {
        Lang::Id => "surat hasil",
        Lang::En => "result letter",
    };
    println!("{letter}: {}", out.join(result::HTML_FILE).display());
    println!(
        "verify: ssh-keygen -Y verify -f allowed_signers -I {} -n {} -s {} < {}",
        docs.result.signer.principal,
        result::NAMESPACE,
        out.join(result::SIG_FILE).display(),
        out.join(result::JSON_FILE).display()
    );
    Ok(match verdict {
        Verdict::Lulus => ExitCode::AllPassed,
        Verdict::TidakLulus => ExitCode::ChecksFailed,
    })
}

fn demo(
    out: PathBuf,
    key: Option<PathBuf>,
    scenario: Option<PathBuf>,
    lang: Lang,
) -> Result<ExitCode, CliError> {
    let started = std::time::Instant::now();
    check_out(&out)?;
    let work = tempfile::Builder::new()
        .prefix("poc-demo-")
        .tempdir()
        .map_err(|e| CliError::Usage(format!("cannot create a work directory: {e}")))?;
    let target_path = work.path().join("target.toml");
    std::fs::write(&target_path, DEMO_TARGET)
        .map_err(|e| CliError::Usage(format!("{}: {e}", target_path.display())))?;
    let (pack, tgt) = load_inputs(scenario.as_deref(), &target_path)?;
    let key_path = key.unwrap_or_else(|| {
        let mut p = out.clone().into_os_string();
        p.push(".key");
        PathBuf::from(p)
    });
    if !key_path.exists() {
        result::keygen(&key_path, "poc-runner demo key")?;
        println!("demo signing key: {} (+ .pub)", key_path.display());
    }
    let key = result::read_private_key(&key_path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", key_path.display())))?;
    println!(
        "demo: mock-server + rsud-app (reference application), pack {}",
        scenario.as_deref().map_or_else(
            || format!("{} (embedded)", crate::embedded::DEFAULT_PACK),
            |s| s.display().to_string()
        )
    );
    let code = run_session(
        &pack,
        &tgt,
        &session::Options {
            lang,
            ..session::Options::default()
        },
        &key,
        Signer {
            assessor: Some("Demo poc-runner".into()),
            principal: Some("poc-demo".into()),
            office: crate::embedded::office("karanganyar"),
        },
        lang,
        &out,
    )?;
    let mut pub_path = key_path.clone().into_os_string();
    pub_path.push(".pub");
    println!(
        "with OpenSSH: (printf 'poc-demo namespaces=\"{}\" '; cat {}) > allowed_signers && ssh-keygen -Y verify -f allowed_signers -I poc-demo -n {} -s {} < {}",
        result::NAMESPACE,
        PathBuf::from(pub_path).display(),
        result::NAMESPACE,
        out.join(result::SIG_FILE).display(),
        out.join(result::JSON_FILE).display()
    );
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(code)
}

/// The reference application's target file, with `[app]` so the runner starts it on a free
/// port with its data in the work directory.
pub const DEMO_TARGET: &str = include_str!("../../scenarios/targets/rsud-app.toml");

/// The application's own output as the result keeps it: NIKs masked, and every password and
/// token the target file names replaced.
fn redact(text: &str, target: &Target) -> String {
    let mut secrets: Vec<&str> = target
        .file
        .operators
        .iter()
        .map(|o| o.password.as_str())
        .collect();
    secrets.push(&target.file.mock_credentials.password);
    secrets.push(&target.agreement.credentials.password);
    if let Some(t) = &target.file.mock_credentials.balikan_token {
        secrets.push(t);
    }
    // Longest first: a password that contains another is replaced whole.
    secrets.retain(|s| s.len() >= 3);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = crate::evidence::mask_niks(text);
    for s in secrets {
        out = out.replace(s, "[disembunyikan]");
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::file_error::Source;

    #[test]
    fn the_application_output_kept_in_the_result_hides_niks_and_every_password() {
        let text = include_str!("../../scenarios/targets/example.toml");
        let t = Target::from_source(&Source::new("example.toml", text)).expect("example target");
        let op = t.file.operators[0].password.clone();
        let inst = t.file.mock_credentials.password.clone();
        let log = format!(
            "login {op} ok\ncalling gateway with password={inst} NIK=3313014107890003\nid 12345678901234567 stays\n"
        );
        let kept = redact(&log, &t);
        assert!(!kept.contains(&op) && !kept.contains(&inst), "{kept}");
        assert!(!kept.contains("3313014107890003"), "{kept}");
        assert!(kept.contains("3313**********03"), "{kept}");
        assert!(kept.contains("12345678901234567"), "{kept}");
        assert_eq!(kept.matches("[disembunyikan]").count(), 2, "{kept}");
    }

    /// Every option and argument of every command says what it is for; enumerated ones list
    /// their values.
    #[test]
    fn every_option_is_described_and_enumerations_list_their_values() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        for cmd in cli.get_subcommands() {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "{} {id}: no description",
                    cmd.get_name()
                );
                if ["lang", "format", "shell"].contains(&id) {
                    assert!(
                        arg.get_possible_values().len() >= 2,
                        "{} {id}",
                        cmd.get_name()
                    );
                }
            }
        }
    }
}
