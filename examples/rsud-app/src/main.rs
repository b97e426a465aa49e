fn main() -> std::process::ExitCode {
    rsud_app::main()
}
