//! Why a session could not be played, shared by the session, its processes and the mock client
//! (a module of its own so that none of them imports another for it).

/// Why a session could not be played (checks that fail are not errors).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The application or the mock did not answer.
    #[error("{0}")]
    Unreachable(String),
    /// The command line, target or pack asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A process or client could not be started.
    #[error("{0}")]
    Start(String),
    /// The mock answered an admin call with an error.
    #[error("the mock answered unexpectedly: {0}")]
    Mock(String),
    /// The pre-flight found that a session would judge nothing: an operator cannot log in, or
    /// a lookup never reaches this mock.
    #[error("pre-flight: {0}")]
    Preflight(String),
}
