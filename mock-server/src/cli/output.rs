//! How the listing commands print.

/// Output of `fixtures` and `residents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for a human reader.
    Table,
    /// JSON for programs.
    Json,
}
