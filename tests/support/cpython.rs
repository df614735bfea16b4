//! CPython 3.13 for the serve tests: found as the interop tests find it
//! (`tests/interop/python.rs`: skipped with a printed reason when absent,
//! required with `HMAC_HANDSHAKE_REQUIRE_PYTHON=1`), and inline scripts run
//! with a bounded wait and the key only in the environment.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::python;
use crate::support::process::{self, KillOnDrop};

/// The environment variable the scripts read the key from.
pub const PY_KEY_ENV: &str = "HMAC_HANDSHAKE_TEST_KEY";

/// `connect(addr)`: a `multiprocessing.connection` address from
/// `host:port` or `unix:PATH` (shared by the scripts below).
const ADDRESS: &str = r#"
import os, sys, time
from multiprocessing.connection import Client, Listener
def address(text):
    if text.startswith("unix:"):
        return text[len("unix:"):]
    host, port = text.rsplit(":", 1)
    return (host, int(port))
KEY = os.environ["HMAC_HANDSHAKE_TEST_KEY"].encode()
"#;

/// `python -c CLIENT ADDR MESSAGE N`: N times, `Client(ADDR)` then one
/// echo of MESSAGE; prints each round trip's seconds, one per line.
pub const CLIENT: &str = r#"
addr, message, n = address(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
for _ in range(n):
    start = time.perf_counter()
    with Client(addr, authkey=KEY) as conn:
        conn.send_bytes(message)
        reply = conn.recv_bytes()
        took = time.perf_counter() - start
    assert reply == message, reply
    print("%.6f" % took, flush=True)
"#;

/// `python -c ECHOES ADDR SIZE N`: one `Client(ADDR)`, then N echoes of a
/// SIZE-byte message over it; prints each round trip's seconds, one per
/// line.
pub const ECHOES: &str = r#"
addr, size, n = address(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
message = bytes(i % 251 for i in range(size))
with Client(addr, authkey=KEY) as conn:
    for _ in range(n):
        start = time.perf_counter()
        conn.send_bytes(message)
        reply = conn.recv_bytes()
        took = time.perf_counter() - start
        assert reply == message, len(reply)
        print("%.6f" % took, flush=True)
"#;

/// `python -c LISTENER PATH`: `Listener(PATH)`, prints `ready`, accepts
/// one client, echoes one message and prints it.
pub const LISTENER: &str = r#"
path = sys.argv[1]
with Listener(path, family="AF_UNIX", authkey=KEY) as listener:
    print("ready", flush=True)
    with listener.accept() as conn:
        message = conn.recv_bytes()
        conn.send_bytes(message)
        print("echoed %s" % message.decode(), flush=True)
"#;

/// CPython 3.13, or `None` after printing why `test` is skipped.
pub fn python313(test: &str) -> Option<PathBuf> {
    let found = python::pythons(test)?;
    match found.iter().find(|p| (p.version.0, p.version.1) == (3, 13)) {
        Some(py) => Some(py.path.clone()),
        None => {
            println!("{test}: skipped: no CPython 3.13 found");
            None
        }
    }
}

/// What a script run gave.
#[derive(Debug)]
pub struct PyRun {
    /// The exit code (`None`: killed).
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// A script started in the background: `python -c ADDRESS+SCRIPT ARGS...`.
pub struct PyChild {
    child: KillOnDrop,
    /// Its stdout lines.
    pub lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl PyChild {
    /// Starts `script` with `key` in the environment.
    pub fn start(py: &PathBuf, script: &str, args: &[&str], key: &str) -> PyChild {
        let mut child = Command::new(py)
            .arg("-c")
            .arg(format!("{ADDRESS}{script}"))
            .args(args)
            .env(PY_KEY_ENV, key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python");
        let lines = process::lines(child.stdout.take().expect("stdout"));
        let stderr = process::collect(child.stderr.take().expect("stderr"));
        PyChild {
            child: KillOnDrop(child),
            lines,
            stderr,
        }
    }

    /// Waits up to `limit` for it to exit; gathers what is left of stdout.
    pub fn finish(mut self, limit: Duration) -> PyRun {
        let status = process::wait_within(&mut self.child.0, limit).expect("try_wait");
        let mut stdout = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        PyRun {
            code: status.and_then(|s| s.code()),
            stdout,
            stderr: process::text(&self.stderr),
        }
    }
}

/// Runs `script` to its end (within `limit`).
pub fn run(py: &PathBuf, script: &str, args: &[&str], key: &str, limit: Duration) -> PyRun {
    PyChild::start(py, script, args, key).finish(limit)
}

/// The median of the seconds [`CLIENT`] printed.
pub fn median_secs(stdout: &str) -> f64 {
    let mut times: Vec<f64> = stdout
        .lines()
        .map(|l| l.trim().parse().expect("a number of seconds"))
        .collect();
    assert!(!times.is_empty(), "no times in {stdout:?}");
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
