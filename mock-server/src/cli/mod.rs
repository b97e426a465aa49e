//! Command line: `serve`, `residents`, `fixtures`. Errors map to the codes of [`exit_codes`].

mod data_dir;
pub mod exit_codes;
mod fixtures;
mod listen;
mod output;
mod serve;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dukcapil_domain::AgreementError;

use crate::config::{ServeArgs, SettingsError};
use crate::http::server::StartError;
use output::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "mock-server",
    version,
    about = "Dukcapil gateway simulator with a seeded dummy population"
)]
struct Cli {
    /// Form of the log lines (`RUST_LOG` picks what is logged, default `info`).
    #[arg(long, global = true, env = "MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines (coloured on a terminal only).
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which dummy population to use; the same seed and size always give the same residents.
#[derive(Debug, Clone, clap::Args)]
struct DatasetArgs {
    /// Directory holding the generated population and the mock's state (created if missing).
    #[arg(long, env = "MOCK_DATA_DIR", default_value = "./mock-data")]
    data_dir: PathBuf,
    /// Generator seed: the same seed and size always give the same residents.
    #[arg(long, env = "MOCK_SEED", default_value_t = 1)]
    seed: u64,
    /// Number of residents.
    #[arg(long, env = "MOCK_POPULATION", default_value_t = 10_000)]
    population: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the mock gateway (HTTP on 127.0.0.1:8000 by default).
    Serve(ServeArgs),
    /// Prints the institutions and the fixture residents (NIKs per outcome) for the same dataset
    /// and settings file as `serve`.
    Fixtures {
        #[command(flatten)]
        dataset: fixtures::FixturesArgs,
        /// Output form.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Lists residents of the dummy population (generating it first if needed).
    Residents {
        #[command(flatten)]
        dataset: DatasetArgs,
        /// At most this many residents.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Only residents with this status (default: all).
        #[arg(long, value_parser = status_parser())]
        status: Option<dukcapil_domain::ResidentStatus>,
        /// Output form.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Prints a shell completion script (e.g. `mock-server completions bash >
    /// /etc/bash_completion.d/mock-server`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the man page (mock-server.1), or writes one page per command into a directory.
    Man {
        /// Write mock-server.1 and mock-server-COMMAND.1 into this directory instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn status_parser() -> impl clap::builder::TypedValueParser<Value = dukcapil_domain::ResidentStatus>
{
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("active").help("alive and registered (outcome 01)"),
        PossibleValue::new("deceased").help("outcome 11"),
        PossibleValue::new("duplicate").help("data ganda, outcome 12"),
        PossibleValue::new("inactive").help("outcome 14"),
    ])
    .try_map(|s| s.parse::<dukcapil_domain::ResidentStatus>())
}

/// The `mock-server` program: parses the arguments, runs, prints `{e:#}` on failure and maps it
/// to an exit code of [`exit_codes`] (clap exits with [`exit_codes::USAGE`] itself).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve(_)), cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::from(exit_codes::OK),
        Err(e) => {
            eprintln!("mock-server: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// A bad input file is a usage error; everything else a runtime failure.
fn exit_code(e: &anyhow::Error) -> u8 {
    let bad_input = e.chain().any(|c| {
        c.is::<SettingsError>()
            || c.is::<AgreementError>()
            || c.downcast_ref::<StartError>()
                .is_some_and(StartError::is_bad_input)
    });
    if bad_input {
        exit_codes::USAGE
    } else {
        exit_codes::FAILURE
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(resolve(&args)?),
        Command::Fixtures { dataset, format } => fixtures::run(&dataset.serve_args(), format),
        Command::Residents {
            dataset,
            limit,
            status,
            format,
        } => residents(&dataset, limit, status, format),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mock-server", &mut std::io::stdout());
            Ok(())
        }
        Command::Man { out } => man(<Cli as clap::CommandFactory>::command(), out.as_deref()),
    }
}

/// The settings of `serve` and `fixtures`, with the settings file's `[institutions.<id>]` checked
/// against the agreements' customer ids (a typo would otherwise change nothing, silently).
pub(crate) fn resolve(args: &ServeArgs) -> anyhow::Result<crate::config::Settings> {
    let settings = crate::config::Settings::resolve(args)?;
    let agreements = crate::http::server::agreements(&settings)?;
    let known: Vec<&str> = agreements.iter().map(|a| a.customer_id.as_str()).collect();
    for id in settings.institutions.keys() {
        if !known.contains(&id.as_str()) {
            let hint = known
                .iter()
                .map(|k| (strsim::jaro_winkler(id, k), *k))
                .filter(|(score, _)| *score > 0.85)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(SettingsError::Parse {
                path: args.config.clone().unwrap_or_default(),
                line: settings.institution_lines.get(id).copied(),
                column: None,
                message: format!(
                    "[institutions.{id}]: no agreement has the customer id `{id}` (known: {}){hint}; an institution of its own under an agreement names it: agreement = \"<profile id>\"",
                    known.join(", ")
                ),
            }
            .into());
        }
    }
    Ok(settings)
}

/// The man page on stdout, or one page per command into `dir`.
pub(crate) fn man(cmd: clap::Command, dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    use anyhow::Context;
    let Some(dir) = dir else {
        let mut text = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut text)?;
        use std::io::Write;
        return match std::io::stdout().lock().write_all(&text) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        };
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = cmd.get_name().to_string();
    let mut pages = vec![(name.clone(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.push((format!("{name}-{}", sub.get_name()), sub.clone()));
    }
    for (title, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page)
            .title(&title)
            .render(&mut text)?;
        let file = format!("{title}.1");
        let path = dir.join(&file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `serve` logs to stdout (its output is the log); the listing commands keep stdout for their
/// output and log to stderr. `RUST_LOG` overrides the `info` default.
fn init_tracing(to_stdout: bool, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // Colour codes only for a terminal, never into a pipe or a file.
    let ansi = if to_stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    // A second initialisation (e.g. in tests) is harmless; keep the first subscriber.
    let _ = match (format, to_stdout) {
        (LogFormat::Json, true) => builder.json().with_writer(std::io::stdout).try_init(),
        (LogFormat::Json, false) => builder.json().with_writer(std::io::stderr).try_init(),
        (LogFormat::Text, true) => builder
            .with_writer(std::io::stdout)
            .with_ansi(ansi)
            .try_init(),
        (LogFormat::Text, false) => builder
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .try_init(),
    };
}

/// `residents`: ensures the dataset, then prints residents as JSON or as an aligned table.
fn residents(
    dataset: &DatasetArgs,
    limit: u64,
    status: Option<dukcapil_domain::ResidentStatus>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;

    let spec = crate::db::PopulationSpec {
        seed: dataset.seed,
        size: dataset.population,
    };
    data_dir::ensure(&dataset.data_dir)?;
    let file = dataset.data_dir.join(crate::db::dataset_file_name(spec));
    if !file.exists() && !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        // The progress bar is drawn on a terminal only; a pipe or a CI log gets a line.
        tracing::info!(
            "generating {} residents (seed {}) into {}",
            spec.size,
            spec.seed,
            file.display()
        );
    }
    let info = crate::db::ensure_population(&dataset.data_dir, spec, true)?;
    let reader = crate::db::PopulationReader::open(&info.path)?;
    let rows = reader.list(status, limit)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        OutputFormat::Json => {
            let records: Vec<_> = rows.iter().map(|r| r.to_listing_json()).collect();
            serde_json::to_writer_pretty(&mut out, &records)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        OutputFormat::Table => write_table(&mut out, &rows),
    }
    .and_then(|()| out.flush());
    match written {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// Residents as aligned columns for a human reader.
fn write_table(
    out: &mut impl std::io::Write,
    rows: &[dukcapil_domain::Resident],
) -> std::io::Result<()> {
    const HEADERS: [&str; 9] = [
        "NIK",
        "NO_KK",
        "NAMA_LGKP",
        "JK",
        "TGL_LHR",
        "STAT_HBKEL",
        "KEL_NAME",
        "KAB_NAME",
        "STATUS",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.nik.to_string(),
                r.no_kk.to_string(),
                r.nama_lgkp.clone(),
                if r.jenis_klmin == dukcapil_domain::Sex::Male {
                    "L"
                } else {
                    "P"
                }
                .to_string(),
                r.tgl_lhr.format("%Y-%m-%d").to_string(),
                r.stat_hbkel.clone(),
                r.kel_name.clone(),
                r.kab_name.clone(),
                r.status.to_string(),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn std::io::Write, row: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(c);
            text.extend(std::iter::repeat_n(
                ' ',
                w.saturating_sub(c.chars().count()),
            ));
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &HEADERS)?;
    for row in &cells {
        line(out, &row.each_ref().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every option and argument of every command says what it is for; enumerated ones list
    /// their values; `fixtures` offers only the options that apply to it.
    #[test]
    fn every_option_is_described_and_enumerations_list_their_values() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut seen = 0;
        for cmd in std::iter::once(&cli).chain(cli.get_subcommands()) {
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
                seen += 1;
            }
        }
        assert!(seen > 20, "{seen}");
        let serve = cli.find_subcommand("serve").unwrap();
        for id in ["catalogue", "id_numbers", "date_format"] {
            let arg = serve.get_arguments().find(|a| a.get_id() == id).unwrap();
            assert!(arg.get_possible_values().len() >= 2, "{id}");
        }
        let residents = cli.find_subcommand("residents").unwrap();
        let status = residents
            .get_arguments()
            .find(|a| a.get_id() == "status")
            .unwrap();
        assert_eq!(status.get_possible_values().len(), 4);
        let fixtures = cli.find_subcommand("fixtures").unwrap();
        let ids: Vec<&str> = fixtures
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .collect();
        for serve_only in [
            "listen",
            "tls",
            "admin_token",
            "admin_remote",
            "catalogue",
            "journal_cap",
        ] {
            assert!(
                !ids.contains(&serve_only),
                "fixtures offers --{serve_only}: {ids:?}"
            );
        }
        assert!(
            ids.contains(&"data_dir") && ids.contains(&"config"),
            "{ids:?}"
        );
    }
}
