//! The tester's report: one line per case as it ends (`ok`, `FAIL` or
//! `warn`, the case id, what was seen), the totals, and `--json`.

use std::io::Write;
use std::path::Path;

/// A case's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The peer did what the protocol asks.
    Ok,
    /// The peer did not.
    Fail,
    /// Allowed, but weaker than it should be (CPython 3.12+ taking a
    /// legacy MD5 reply to a modern challenge).
    Warn,
}

impl Verdict {
    /// `ok`, `FAIL`, `warn`: the report's first word.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "warn",
        }
    }
}

/// A case's result: its verdict and what the tester saw.
pub type Outcome = (Verdict, String);

/// `ok` with what was seen.
pub fn ok(seen: impl Into<String>) -> Outcome {
    (Verdict::Ok, seen.into())
}

/// `FAIL` with what was seen.
pub fn fail(seen: impl Into<String>) -> Outcome {
    (Verdict::Fail, seen.into())
}

/// One finished case.
#[derive(Debug)]
pub struct Case {
    /// The case id, `PROFILE.MODE.NAME`.
    pub id: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// What was seen, one line.
    pub seen: String,
}

/// The cases run so far, printed as they end.
#[derive(Debug, Default)]
pub struct Report {
    cases: Vec<Case>,
}

impl Report {
    /// Records a case and prints its line on stdout.
    pub fn add(&mut self, id: &str, (verdict, seen): Outcome) {
        // What a peer sent may be text: one line, printable ASCII only.
        let seen: String = seen
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{:<4} {id}  {seen}", verdict.word());
        let _ = out.flush();
        self.cases.push(Case {
            id: id.to_string(),
            verdict,
            seen,
        });
    }

    /// `true` once the first case (always an honest one) failed: the
    /// others would judge a peer that does not authenticate at all, and a
    /// peer that refuses everything would pass most of them, so they are
    /// not run.
    pub fn halted(&self) -> bool {
        self.cases
            .first()
            .is_some_and(|c| c.verdict == Verdict::Fail)
    }

    /// How many cases ended with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cases.iter().filter(|c| c.verdict == verdict).count()
    }

    /// The last line: `N passed, M failed, K warnings`.
    pub fn totals(&self) -> String {
        format!(
            "{} passed, {} failed, {} warnings",
            self.count(Verdict::Ok),
            self.count(Verdict::Fail),
            self.count(Verdict::Warn)
        )
    }

    /// Writes the report as JSON to `path`: `mode`, `profile`, `target`,
    /// `cases` (`id`, `result`, `seen`), `passed`, `failed`, `warnings`.
    ///
    /// # Errors
    /// The file's, as a message.
    pub fn write_json(
        &self,
        path: &Path,
        mode: &str,
        profile: &str,
        target: &str,
    ) -> Result<(), String> {
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "result": c.verdict.word(),
                    "seen": c.seen,
                })
            })
            .collect();
        let report = serde_json::json!({
            "mode": mode,
            "profile": profile,
            "target": target,
            "cases": cases,
            "passed": self.count(Verdict::Ok),
            "failed": self.count(Verdict::Fail),
            "warnings": self.count(Verdict::Warn),
        });
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write --json {}: {e}", path.display()))
    }
}

/// The freshness cases' verdict: `ok` when no two of `values` (challenges
/// or nonces, one per connection) are equal, else `FAIL` naming the first
/// repeat.
pub fn distinct(values: &[Vec<u8>], what: &str) -> Outcome {
    for (i, v) in values.iter().enumerate() {
        if let Some(j) = values[..i].iter().position(|u| u == v) {
            return fail(format!(
                "the {what} of connection {} repeats that of connection {}: {}",
                i + 1,
                j + 1,
                super::link::show(v)
            ));
        }
    }
    ok(format!(
        "{} connections, {} distinct {what}s",
        values.len(),
        values.len()
    ))
}
