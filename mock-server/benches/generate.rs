//! Generation throughput: residents per second into SQLite (the shipped path) and, as a same-run
//! baseline, the bare generator; plus peak RSS (VmHWM) while writing.
//!
//! `cargo bench -p mock-server --bench generate` (sizes: `GEN_BENCH_SIZES=100000,1000000`).

use std::time::Instant;

use mock_server::{ensure_population as ensure, PopulationSpec};

/// Peak resident set size of this process in MiB, from /proc (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds (user + system, all threads) this process has used so far, from /proc.
///
/// On a shared machine wall-clock rates mostly measure the other tenants; residents per CPU
/// second is a conservative figure for an idle machine (the writer and the generator threads
/// overlap there, so the wall rate is at least as high).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 after the command name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn per_cpu_second(n: u64, start: Option<f64>) -> f64 {
    match (start, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => n as f64 / (b - a),
        _ => f64::NAN,
    }
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
        "{:>10}  {:>12}  {:>12}  {:>12}  {:>12}  {:>9}  {:>12}  {:>8}",
        "residents",
        "bare gen/s",
        "bare /cpu-s",
        "sqlite/s",
        "sqlite/cpu-s",
        "ratio cpu",
        "peak RSS MiB",
        "file MiB"
    );
    for size in sizes {
        let spec = PopulationSpec { seed: 1, size };
        let (t, c) = (Instant::now(), cpu_seconds());
        let n = dukcapil_domain::population::generate(spec).count();
        let bare = n as f64 / t.elapsed().as_secs_f64();
        let bare_cpu = per_cpu_second(n as u64, c);

        let dir = tempfile::tempdir().expect("temporary directory");
        reset_peak_rss();
        let (t, c) = (Instant::now(), cpu_seconds());
        let info = ensure(dir.path(), spec, false).expect("generate dataset");
        let rate = size as f64 / t.elapsed().as_secs_f64();
        let rate_cpu = per_cpu_second(size, c);
        let rss = peak_rss_mib().unwrap_or(f64::NAN);
        let file = std::fs::metadata(&info.path)
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(f64::NAN);
        println!(
            "{size:>10}  {bare:>12.0}  {bare_cpu:>12.0}  {rate:>12.0}  {rate_cpu:>12.0}  {:>9.2}  {rss:>12.1}  {file:>8.1}",
            rate_cpu / bare_cpu
        );
    }
}
