//! Criterion's estimates, read back after a run, and the summary table
//! printed from them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Where criterion writes its estimates (the same rule as criterion's:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the target
/// directory this executable was built in).
#[must_use]
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // <target>/release/deps/<bench>-<hash>
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion")
}

/// Criterion's median estimate for one case, in ns: (point, CI low, CI
/// high, median absolute deviation).
#[derive(Clone, Copy, Debug)]
pub struct Median {
    /// The median's point estimate.
    pub point: f64,
    /// Lower bound of its 95% confidence interval.
    pub lo: f64,
    /// Upper bound of its 95% confidence interval.
    pub hi: f64,
    /// The median absolute deviation's point estimate.
    pub mad: f64,
}

/// The estimates this run wrote for `group/id` (`None` if the case was
/// filtered out or the file predates `since`).
#[must_use]
pub fn median(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<Median> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    if !fresh {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let m = &v["median"];
    Some(Median {
        point: m["point_estimate"].as_f64()?,
        lo: m["confidence_interval"]["lower_bound"].as_f64()?,
        hi: m["confidence_interval"]["upper_bound"].as_f64()?,
        mad: v["median_abs_dev"]["point_estimate"].as_f64()?,
    })
}

/// Nanoseconds as microseconds, three decimals.
#[must_use]
pub fn us(ns: f64) -> String {
    format!("{:.3}", ns / 1000.0)
}

/// Prints the summary table of `ids` in `group`: each case's median, the
/// 95% CI of the median and the MAD, read from the estimates criterion
/// wrote in `dir` since `since`.
pub fn print_table<S: AsRef<str>>(dir: &Path, group: &str, ids: &[S], since: SystemTime) {
    println!(
        "\n## Summary (this run; criterion's estimates from {})\n",
        dir.display()
    );
    println!("| case | median (us) | 95% CI of the median (us) | MAD (us) |");
    println!("|---|---:|---:|---:|");
    for id in ids {
        let id = id.as_ref();
        match median(dir, group, id, since) {
            Some(m) => println!(
                "| {id} | {} | {} - {} | {} |",
                us(m.point),
                us(m.lo),
                us(m.hi),
                us(m.mad)
            ),
            None => println!("| {id} | not measured in this run | | |"),
        }
    }
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures (Linux), for the record:
/// the ratios are only as good as the machine was quiet.
#[must_use]
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_string())
}

/// The CPU as `/proc/cpuinfo` names it, its logical CPU count, and whether
/// it has the SHA extensions (`sha_ni`, which RustCrypto's SHA-256 uses
/// when present).
#[must_use]
pub fn cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown (no /proc/cpuinfo model name)", |(_, m)| m.trim())
        .to_string();
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    let sha_ni = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().any(|f| f == "sha_ni"));
    let sha_ni = match sha_ni {
        Some(true) => "sha_ni: yes",
        Some(false) => "sha_ni: NO (software SHA-256)",
        None => "sha_ni: unknown",
    };
    format!("{model}, {cpus} logical CPUs, {sha_ni}")
}

/// One case of a paired comparison: a name and one call of the work.
pub struct Case<'a> {
    /// What it is, for the report.
    pub name: &'a str,
    /// One call of the work.
    pub run: &'a mut dyn FnMut(),
}

/// Times `a` and `b` alternately, in batches of ~2 ms each, `rounds`
/// times, in ABBA order (so a drift in the machine's speed, e.g. another
/// process starting, hits both alike); returns the per-round ratios a/b and
/// the per-call times of each, in ns.
#[must_use]
pub fn paired(a: &mut Case<'_>, b: &mut Case<'_>, rounds: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    fn calibrate(f: &mut dyn FnMut()) -> usize {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_millis(20) {
            f();
            n += 1;
        }
        // Calls per 2 ms batch.
        (n / 10).max(1)
    }
    fn batch(f: &mut dyn FnMut(), n: usize) -> f64 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_nanos() as f64 / n as f64
    }
    let (na, nb) = (calibrate(a.run), calibrate(b.run));
    let (mut ratios, mut ta, mut tb) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = batch(a.run, na);
            (x, batch(b.run, nb))
        } else {
            let y = batch(b.run, nb);
            (batch(a.run, na), y)
        };
        ratios.push(x / y);
        ta.push(x);
        tb.push(y);
    }
    (ratios, ta, tb)
}

/// The `q` quantile (0 to 1) of `v`, by nearest rank.
#[must_use]
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Runs each pair `(a, b, label)` of `cases` through [`paired`] and prints
/// a table: the median and interquartile range of the per-round ratios
/// a/b, each side's median (and 10th percentile) per call, and
/// `verdict(pair index, median)`. Returns the medians, in order.
pub fn paired_table(
    cases: &mut [Case<'_>],
    pairs: &[(usize, usize, &str)],
    rounds: usize,
    verdict: impl Fn(usize, f64) -> String,
) -> Vec<f64> {
    println!(
        "\n## Paired ratios (A and B alternated in ~2 ms batches, ABBA, {rounds} rounds; \
         median and interquartile range of the per-round ratios, and each side's median per call)\n"
    );
    println!("| ratio | median | IQR | A median (p10) us | B median (p10) us | goal |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut medians = Vec::new();
    for (i, &(ia, ib, label)) in pairs.iter().enumerate() {
        let (lo, hi) = (ia.min(ib), ia.max(ib));
        let (left, right) = cases.split_at_mut(hi);
        let (a, b) = if ia < ib {
            (&mut left[lo], &mut right[0])
        } else {
            (&mut right[0], &mut left[lo])
        };
        let (names_a, names_b) = (a.name, b.name);
        let (r, ta, tb) = paired(a, b, rounds);
        let m = quantile(&r, 0.5);
        println!(
            "| {label} ({names_a} / {names_b}) | {m:.3} | {:.3} - {:.3} | {} ({}) | {} ({}) | {} |",
            quantile(&r, 0.25),
            quantile(&r, 0.75),
            us(quantile(&ta, 0.5)),
            us(quantile(&ta, 0.1)),
            us(quantile(&tb, 0.5)),
            us(quantile(&tb, 0.1)),
            verdict(i, m),
        );
        medians.push(m);
    }
    medians
}
