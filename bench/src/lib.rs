//! Benchmark support; the programs are in `src/bin/` and `run.sh`.
