//! Order statistics of measured samples (latencies in seconds, rates per
//! second): nearest-rank percentiles, and one line to print them.

use std::fmt;

/// The spread of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// How many samples.
    pub n: usize,
    pub min: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `samples` (any order); `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Spread> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| nearest_rank(&sorted, p);
        Some(Spread {
            n: sorted.len(),
            min: *sorted.first()?,
            p10: at(10.0),
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: *sorted.last()?,
        })
    }

    /// The same spread with every value multiplied by `factor` (seconds
    /// to milliseconds, say).
    pub fn scaled(self, factor: f64) -> Spread {
        Spread {
            min: self.min * factor,
            p10: self.p10 * factor,
            p50: self.p50 * factor,
            p90: self.p90 * factor,
            p99: self.p99 * factor,
            max: self.max * factor,
            ..self
        }
    }
}

/// The `p`th percentile of `sorted` (ascending, not empty) by nearest
/// rank: the smallest sample with at least `p`% of the samples at or
/// below it.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    // Truncation is intended: ranks are small positive integers.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// `p50 X (p10 X, p90 X, p99 X, min X, max X, n N)`, three decimals.
impl fmt::Display for Spread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.3} (p10 {:.3}, p90 {:.3}, p99 {:.3}, min {:.3}, max {:.3}, n {})",
            self.p50, self.p10, self.p90, self.p99, self.min, self.max, self.n
        )
    }
}
