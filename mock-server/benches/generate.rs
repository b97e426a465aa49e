//! Generation throughput: residents per second into SQLite (the shipped path) and, as a same-run
//! baseline, the bare generator; plus peak RSS (VmHWM) while writing.
//!
//! `cargo bench -p mock-server --bench generate` (sizes: `GEN_BENCH_SIZES=100000,1000000`).

use std::time::Instant;

use mock_server::population_db::{ensure, PopulationSpec};

/// Peak resident set size of this process in MiB, from /proc (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak so each size reports its own (Linux: writing 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let sizes: Vec<u64> = std::env::var("GEN_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // Warm the embedded reference data so it is not charged to the first run.
    let _ = dukcapil_domain::population::generate(PopulationSpec { seed: 0, size: 10 }).count();
    println!(
        "{:>10}  {:>14}  {:>14}  {:>7}  {:>12}  {:>10}",
        "residents", "bare gen/s", "sqlite/s", "ratio", "peak RSS MiB", "file MiB"
    );
    for size in sizes {
        let spec = PopulationSpec { seed: 1, size };
        let t = Instant::now();
        let n = dukcapil_domain::population::generate(spec).count();
        let bare = n as f64 / t.elapsed().as_secs_f64();

        let dir = tempfile::tempdir().expect("temporary directory");
        reset_peak_rss();
        let t = Instant::now();
        let info = ensure(dir.path(), spec, false).expect("generate dataset");
        let secs = t.elapsed().as_secs_f64();
        let rate = size as f64 / secs;
        let rss = peak_rss_mib().unwrap_or(f64::NAN);
        let file = std::fs::metadata(&info.path)
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(f64::NAN);
        println!(
            "{size:>10}  {bare:>14.0}  {rate:>14.0}  {:>7.2}  {rss:>12.1}  {file:>10.1}",
            rate / bare
        );
    }
}
