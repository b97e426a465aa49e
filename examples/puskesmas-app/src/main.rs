fn main() -> std::process::ExitCode {
    puskesmas_app::main()
}
