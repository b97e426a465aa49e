//! Command line: `serve`, `residents`, `fixtures`. Errors map to the exit codes below.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a runtime failure (I/O, database, network).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or a bad input file (clap also uses 2).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "mock-server",
    version,
    about = "Dukcapil gateway simulator with a seeded dummy population"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Which dummy population to use; the same seed and size always give the same residents.
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// Directory holding the generated population and the mock's state.
    #[arg(long, env = "MOCK_DATA_DIR", default_value = "./mock-data")]
    pub data_dir: PathBuf,
    /// Generator seed.
    #[arg(long, env = "MOCK_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of residents.
    #[arg(long, env = "MOCK_POPULATION", default_value_t = 10_000)]
    pub population: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the mock gateway (HTTP on 127.0.0.1:8000 by default).
    Serve(crate::settings::ServeArgs),
    /// Prints the institutions and the fixture residents (NIKs per outcome) for the same settings
    /// as `serve`.
    Fixtures {
        #[command(flatten)]
        serve: crate::settings::ServeArgs,
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

/// Parses the arguments, runs, prints `{e:#}` on failure and maps it to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("mock-server: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let settings = crate::settings::Settings::resolve(&args)?;
            init_tracing();
            crate::serve::run(settings)
        }
        Command::Fixtures { serve, format } => crate::fixtures::run(&serve, format),
        Command::Residents { .. } => anyhow::bail!("not yet implemented"),
    }
}

/// Logs to stdout; `RUST_LOG` overrides the default `info` level.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .try_init();
}
