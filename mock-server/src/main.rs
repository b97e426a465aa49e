//! `mock-server`: see the crate documentation and README.

fn main() -> std::process::ExitCode {
    mock_server::main()
}
