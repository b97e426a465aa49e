//! Detection of sequential, patterned or rapid-fire NIK lookups (digest rule 8, Juknis Purbalingga
//! II.E.1: "tidak boleh dilakukan dengan cara berurutan, berpola, dan dalam waktu yang
//! berdekatan"). Pure functions over (time, NIK) so the mock can reuse them.

use serde::{Deserialize, Serialize};

/// Thresholds. A finding needs *more* than what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Longest allowed run of NIKs each one apart (in time order). 2: a third in a row is a finding.
    pub max_consecutive: usize,
    /// Shortest run of equal non-unit steps between successive NIKs that counts as a pattern.
    pub min_stride_run: usize,
    /// Lookups within `burst_window_ms` that count as rapid fire.
    pub burst_count: usize,
    pub burst_window_ms: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            max_consecutive: 2,
            min_stride_run: 4,
            burst_count: 10,
            burst_window_ms: 10_000,
        }
    }
}

/// One lookup as the detector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    /// Milliseconds since any fixed origin (only differences matter).
    pub at_ms: i64,
    pub nik: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Pattern {
    /// NIKs one apart, one after the other.
    Consecutive,
    /// NIKs a constant step apart.
    ConstantStride { stride: i128 },
    /// Many lookups in a short window.
    Burst { window_ms: u64 },
}

/// A pattern found, with the indices (into the input) of the lookups that form it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub pattern: Pattern,
    pub indices: Vec<usize>,
}

/// Every pattern in `lookups` (any order; the detector sorts by time, stable on input order).
pub fn detect(lookups: &[Lookup], cfg: &DetectorConfig) -> Vec<Finding> {
    let mut order: Vec<usize> = (0..lookups.len()).collect();
    order.sort_by_key(|&i| lookups[i].at_ms);
    // Repeats of the same NIK (a retry, a refresh) are neither a step nor a pattern.
    let mut distinct: Vec<usize> = Vec::with_capacity(order.len());
    for i in order.iter().copied() {
        if distinct
            .last()
            .is_none_or(|&p| lookups[p].nik != lookups[i].nik)
        {
            distinct.push(i);
        }
    }
    let mut out = Vec::new();
    out.extend(stride_runs(lookups, &distinct, cfg));
    out.extend(bursts(lookups, &order, cfg));
    out
}

fn stride_runs(lookups: &[Lookup], seq: &[usize], cfg: &DetectorConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let step = |a: usize, b: usize| i128::from(lookups[b].nik) - i128::from(lookups[a].nik);
    let mut start = 0;
    while start + 1 < seq.len() {
        let s = step(seq[start], seq[start + 1]);
        let mut end = start + 1;
        while end + 1 < seq.len() && step(seq[end], seq[end + 1]) == s {
            end += 1;
        }
        let len = end - start + 1; // lookups in the run
        let indices: Vec<usize> = seq[start..=end].to_vec();
        if s.abs() == 1 && len > cfg.max_consecutive {
            out.push(Finding {
                pattern: Pattern::Consecutive,
                indices,
            });
        } else if s.abs() > 1 && len >= cfg.min_stride_run.max(3) {
            out.push(Finding {
                pattern: Pattern::ConstantStride { stride: s },
                indices,
            });
        }
        start = end;
    }
    out
}

fn bursts(lookups: &[Lookup], order: &[usize], cfg: &DetectorConfig) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    if cfg.burst_count == 0 {
        return out;
    }
    let window = i64::try_from(cfg.burst_window_ms).unwrap_or(i64::MAX);
    let mut lo = 0;
    for hi in 0..order.len() {
        while lookups[order[hi]]
            .at_ms
            .saturating_sub(lookups[order[lo]].at_ms)
            > window
        {
            lo += 1;
        }
        if hi + 1 - lo >= cfg.burst_count {
            let indices: Vec<usize> = order[lo..=hi].to_vec();
            // Overlapping windows are one burst.
            match out.last_mut() {
                Some(last) if last.indices.contains(&indices[0]) => {
                    for i in indices {
                        if !last.indices.contains(&i) {
                            last.indices.push(i);
                        }
                    }
                }
                _ => out.push(Finding {
                    pattern: Pattern::Burst {
                        window_ms: cfg.burst_window_ms,
                    },
                    indices,
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: &[(i64, u64)]) -> Vec<Lookup> {
        secs.iter()
            .map(|&(s, nik)| Lookup {
                at_ms: s * 1000,
                nik,
            })
            .collect()
    }

    const N: u64 = 3313014107890003;

    #[test]
    fn spread_out_unrelated_niks_are_clean() {
        let l = at(&[(0, N), (60, N + 977), (120, N - 30_000), (200, N + 5)]);
        assert!(detect(&l, &DetectorConfig::default()).is_empty());
    }

    #[test]
    fn three_consecutive_niks_are_a_run_even_descending() {
        let l = at(&[(0, N + 2), (90, N + 1), (180, N)]);
        let f = detect(&l, &DetectorConfig::default());
        assert_eq!(
            f,
            vec![Finding {
                pattern: Pattern::Consecutive,
                indices: vec![0, 1, 2]
            }]
        );
        // Two in a row are allowed (a family at the desk).
        assert!(detect(&l[..2], &DetectorConfig::default()).is_empty());
    }

    #[test]
    fn constant_stride_is_a_pattern_and_repeats_do_not_break_it() {
        let l = at(&[
            (0, N),
            (100, N + 10),
            (150, N + 10),
            (200, N + 20),
            (300, N + 30),
        ]);
        let f = detect(&l, &DetectorConfig::default());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].pattern, Pattern::ConstantStride { stride: 10 });
        assert_eq!(f[0].indices, vec![0, 1, 3, 4]);
    }

    #[test]
    fn bursts_merge_overlapping_windows() {
        let l: Vec<Lookup> = (0..12)
            .map(|i| Lookup {
                at_ms: i * 500,
                nik: N + (i as u64) * 7919 * (i as u64 % 3 + 1),
            })
            .collect();
        let cfg = DetectorConfig {
            burst_count: 10,
            burst_window_ms: 10_000,
            ..DetectorConfig::default()
        };
        let f: Vec<_> = detect(&l, &cfg)
            .into_iter()
            .filter(|f| matches!(f.pattern, Pattern::Burst { .. }))
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].indices.len(), 12);
        let slow: Vec<Lookup> = l
            .iter()
            .map(|x| Lookup {
                at_ms: x.at_ms * 10,
                ..*x
            })
            .collect();
        assert!(detect(&slow, &cfg)
            .iter()
            .all(|f| !matches!(f.pattern, Pattern::Burst { .. })));
    }
}
