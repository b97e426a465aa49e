//! `puskesmas-app`: the reference puskesmas desk; see the library and its README.

fn main() -> std::process::ExitCode {
    puskesmas_app::main()
}
