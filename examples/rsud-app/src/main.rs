//! `rsud-app`: the reference hospital application; see the library and its README.

fn main() -> std::process::ExitCode {
    rsud_app::main()
}
