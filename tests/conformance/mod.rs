//! Running `hmac-handshake conformance` from the tests and reading its
//! `--json` report: shared by `cli_conformance`, `conformance_cpython` and
//! `conformance_broken`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::cli::{BIN, KEY_ENV};
use crate::support::process::{self, KillOnDrop};

/// The key every conformance test uses, as `HMAC_HANDSHAKE_KEY` takes it:
/// 32 bytes in hex, long enough for the native profile.
pub const KEY: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The per-wait deadline the tests give the tester, in seconds.
pub const TIMEOUT: &str = "2";

/// A finished tester run: its exit code, stdout, and the report's cases
/// by id (`ok`, `FAIL` or `warn`, and what was seen), in order.
#[derive(Debug)]
pub struct Verdicts {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub cases: Vec<(String, String, String)>,
    pub json: serde_json::Value,
}

impl Verdicts {
    /// The ids of the cases whose result is not `ok`, with their result.
    pub fn not_ok(&self) -> BTreeMap<String, String> {
        self.cases
            .iter()
            .filter(|(_, r, _)| r != "ok")
            .map(|(id, r, _)| (id.clone(), r.clone()))
            .collect()
    }

    /// The ids, in order.
    pub fn ids(&self) -> Vec<&str> {
        self.cases.iter().map(|(id, _, _)| id.as_str()).collect()
    }

    /// The result of case `id`.
    pub fn result(&self, id: &str) -> Option<&str> {
        self.cases
            .iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, r, _)| r.as_str())
    }
}

/// Runs `hmac-handshake conformance ARGS... --json FILE` with [`KEY`] and
/// returns what it reported; checks that stdout and the JSON agree.
pub fn conformance(args: &[&str]) -> Verdicts {
    static N: AtomicUsize = AtomicUsize::new(0);
    let json_path: PathBuf = std::env::temp_dir().join(format!(
        "hmac-handshake-conformance-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut all = vec!["conformance"];
    // `--json` goes before a client's `--`.
    let split = args.iter().position(|a| *a == "--").unwrap_or(args.len());
    all.extend_from_slice(&args[..split]);
    let json_arg = json_path.to_str().expect("UTF-8 temp path").to_string();
    all.extend_from_slice(&["--json", &json_arg]);
    all.extend_from_slice(&args[split..]);
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args(&all)
            .env(KEY_ENV, KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn conformance"),
    );
    let out = process::read_all(child.0.stdout.take().unwrap());
    let err = process::read_all(child.0.stderr.take().unwrap());
    let limit = std::time::Duration::from_secs(300);
    let status = process::wait_within(&mut child.0, limit)
        .expect("wait")
        .unwrap_or_else(|| panic!("conformance {args:?} did not finish within {limit:?}"));
    let stdout = String::from_utf8(out.recv().unwrap().unwrap()).expect("UTF-8 stdout");
    let stderr = String::from_utf8_lossy(&err.recv().unwrap().unwrap()).into_owned();
    let text = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("no --json report ({e}); stdout {stdout}; stderr {stderr}"));
    let _ = std::fs::remove_file(&json_path);
    let json: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    let cases: Vec<(String, String, String)> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["result"].as_str().unwrap().to_string(),
                c["seen"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // stdout: one line per case in the same order, then the totals.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len() + 1, "{stdout}");
    for (line, (id, result, seen)) in lines.iter().zip(&cases) {
        assert_eq!(*line, format!("{result:<4} {id}  {seen}"), "{stdout}");
    }
    let count = |r: &str| cases.iter().filter(|(_, x, _)| x == r).count();
    let (passed, failed, warned) = (count("ok"), count("FAIL"), count("warn"));
    assert_eq!(
        lines[cases.len()],
        format!("{passed} passed, {failed} failed, {warned} warnings")
    );
    assert_eq!(json["passed"], passed);
    assert_eq!(json["failed"], failed);
    assert_eq!(json["warnings"], warned);
    assert_eq!(
        status.code(),
        Some(if failed == 0 { 0 } else { 1 }),
        "{stdout}{stderr}"
    );
    Verdicts {
        code: status.code(),
        stdout,
        stderr,
        cases,
        json,
    }
}

/// Starts `py tests/peers/SCRIPT ARGS...` with [`KEY`], a server that
/// prints `PORT n` first; returns it (killed on drop) and its address.
pub fn start_peer(py: &std::path::Path, script: &str, args: &[&str]) -> (KillOnDrop, String) {
    use std::io::{BufRead, BufReader};
    let mut child = KillOnDrop(
        Command::new(py)
            .arg(peers_dir().join(script))
            .args(args)
            .env(KEY_ENV, KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}")),
    );
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("read PORT");
    let port = first
        .trim()
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("{script} {args:?}: first line {first:?}"));
    let addr = format!("127.0.0.1:{port}");
    (child, addr)
}

/// The repository's `tests/peers/` directory.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// The cases each mode runs against a flawless peer, after
/// `PROFILE.ROLE.` (`tests/cli_conformance.rs` checks that exactly these
/// run against our own peers).
pub mod cases {
    pub const RECIPE_SERVER: &[&str] = &[
        "honest",
        "one_byte",
        "pipelined",
        "wrong_key",
        "bitflip",
        "truncated",
        "replay",
        "fresh",
    ];
    pub const MP_SERVER: &[&str] = &[
        "honest.sha256",
        "honest.sha384",
        "honest.sha3_256",
        "honest.sha3_384",
        "one_byte",
        "pipelined",
        "wrong_key",
        "bitflip.reply",
        "bitflip.challenge",
        "bitflip.welcome",
        "truncated",
        "oversized",
        "negative",
        "long_form",
        "replay",
        "fresh",
        "md5_reply",
    ];
    pub const NATIVE_SERVER: &[&str] = &[
        "honest",
        "one_byte",
        "pipelined",
        "wrong_key",
        "unknown_key_id",
        "key_id_length",
        "unexpected_message",
        "truncated",
        "bitflip",
        "role_reflection",
        "replay",
        "fresh",
    ];
    pub const RECIPE_CLIENT: &[&str] = &["honest", "one_byte", "echo_check", "short_challenge"];
    pub const MP_CLIENT: &[&str] = &[
        "honest.sha256",
        "honest.sha384",
        "honest.sha3_256",
        "honest.sha3_384",
        "one_byte",
        "pipelined",
        "echo_check",
        "wrong_answer",
        "bitflip.answer",
        "bitflip.challenge",
        "bitflip.welcome",
        "missing_answer",
        "oversized_answer",
        "replayed_answer",
        "fresh",
        "early",
    ];
    /// Under `--suite hmac-sha256`.
    pub const NATIVE_CLIENT: &[&str] = &[
        "honest.hmac-sha256",
        "forward_secrecy_offered",
        "one_byte",
        "echo_check",
        "pipelined",
        "not_native",
        "version",
        "unknown_mode",
        "suite",
        "rejected",
        "unexpected_verdict",
        "unexpected_message",
        "bitflip",
        "fresh",
        "missing_finish",
        "replayed_finish",
    ];
    /// Without `--suite`: an honest case per suite.
    pub const NATIVE_CLIENT_ALL_SUITES: &[&str] = &[
        "honest.hmac-sha256",
        "honest.hmac-sha384",
        "honest.hmac-sha512",
        "honest.hmac-sha3_256",
        "forward_secrecy_offered",
        "one_byte",
        "echo_check",
        "pipelined",
        "not_native",
        "version",
        "unknown_mode",
        "suite",
        "rejected",
        "unexpected_verdict",
        "unexpected_message",
        "bitflip",
        "fresh",
        "missing_finish",
        "replayed_finish",
    ];
}
