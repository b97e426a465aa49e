//! The exit codes of `mock-server`, the one place they are defined (the README's "Conventions"
//! lists the same).

/// Success.
pub const OK: u8 = 0;
/// A runtime failure: I/O, database, network (e.g. the address is taken).
pub const FAILURE: u8 = 1;
/// Bad usage or a bad input file: clap's own usage errors, and a settings file or agreements
/// directory that cannot be used (reported as `file:line: problem`).
pub const USAGE: u8 = 2;
