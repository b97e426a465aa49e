//! `mock-server`: see the crate documentation and README.

// mimalloc's per-thread free lists: a lookup's many small allocations and frees, spread over the
// runtime's worker threads, cost a fifth of the server's CPU with glibc's allocator (profile in
// README "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mock_server::main()
}
