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
    #[command(subcommand)]
    command: Command,
}

/// Which dummy population to use; the same seed and size always give the same residents.
#[derive(Debug, Clone, clap::Args)]
struct DatasetArgs {
    /// Directory holding the generated population and the mock's state.
    #[arg(long, env = "MOCK_DATA_DIR", default_value = "./mock-data")]
    data_dir: PathBuf,
    /// Generator seed.
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
    /// Prints the institutions and the fixture residents (NIKs per outcome) for the same settings
    /// as `serve`.
    Fixtures {
        #[command(flatten)]
        serve: ServeArgs,
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
        /// Only residents with this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<dukcapil_domain::ResidentStatus>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
}

fn parse_status(s: &str) -> Result<dukcapil_domain::ResidentStatus, String> {
    s.parse()
        .map_err(|e: dukcapil_domain::UnknownName| e.to_string())
}

/// The `mock-server` program: parses the arguments, runs, prints `{e:#}` on failure and maps it
/// to an exit code of [`exit_codes`] (clap exits with [`exit_codes::USAGE`] itself).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve(_)));
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
        Command::Serve(args) => {
            let settings = crate::config::Settings::resolve(&args)?;
            serve::run(settings)
        }
        Command::Fixtures { serve, format } => fixtures::run(&serve, format),
        Command::Residents {
            dataset,
            limit,
            status,
            format,
        } => residents(&dataset, limit, status, format),
    }
}

/// `serve` logs to stdout (its output is the log); the listing commands keep stdout for their
/// output and log to stderr. `RUST_LOG` overrides the `info` default.
fn init_tracing(to_stdout: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second initialisation (e.g. in tests) is harmless; keep the first subscriber.
    let _ = if to_stdout {
        builder
            .with_writer(std::io::stdout)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
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
