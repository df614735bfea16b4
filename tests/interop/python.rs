//! Finding CPython interpreters, running the peers of `tests/peers/` as
//! child processes, and running one scenario over every interpreter at once.
//!
//! Every wait here is bounded: lines and exits by [`WAIT`], the peers
//! themselves by their `--deadline`. A peer still running when its [`Peer`]
//! is dropped (a failed case) is killed by its process id.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Debug;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{AuthError, Authenticated};
use hmac_handshake::{Confirmation, Error, Outcome, Scheme};

pub use crate::support::process::WAIT;
use crate::support::process::{self, KillOnDrop};

/// Set to `1` (CI does) to turn a missing interpreter into a test failure.
pub const REQUIRE_ENV: &str = "HMAC_HANDSHAKE_REQUIRE_PYTHON";
/// The versions `REQUIRE_ENV=1` insists on.
pub const REQUIRED: [(u32, u32); 5] = [(2, 7), (3, 7), (3, 11), (3, 12), (3, 13)];
/// The peers' own `--deadline`, in seconds: past it they exit 4 on their own.
const PEER_DEADLINE: &str = "15";

/// One CPython interpreter.
#[derive(Clone, Debug)]
pub struct Python {
    pub path: PathBuf,
    pub version: (u32, u32, u32),
}

impl Python {
    /// `2.7.18`.
    pub fn label(&self) -> String {
        let (a, b, c) = self.version;
        format!("{a}.{b}.{c}")
    }

    /// `true` for this `major.minor` or later.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }
}

fn require() -> bool {
    env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1")
}

/// Runs `cmd` with a bounded wait; returns its stdout.
fn output_within(cmd: &mut Command, limit: Duration) -> Option<String> {
    let mut child = KillOnDrop(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?,
    );
    let stdout = process::read_all(child.0.stdout.take()?);
    match process::wait_within(&mut child.0, limit) {
        Ok(Some(status)) if status.success() => {}
        _ => return None, // killed on drop if still running
    }
    String::from_utf8(stdout.recv_timeout(limit).ok()?.ok()?).ok()
}

fn query_version(path: &Path) -> Option<Python> {
    let out = output_within(
        Command::new(path).args([
            "-c",
            "import sys; print(\"%d.%d.%d\" % sys.version_info[:3])",
        ]),
        WAIT,
    )?;
    let mut parts = out.trim().split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    Some(Python {
        path: path.to_path_buf(),
        version,
    })
}

fn pyenv_candidates(root: &Path) -> Vec<PathBuf> {
    let Ok(dir) = root.join("versions").read_dir() else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join("python"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn path_candidates() -> Vec<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    let mut found = Vec::new();
    for name in ["python3", "python2"] {
        if let Some(p) = env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            found.push(p);
        }
    }
    found
}

/// `$PYENV_ROOT/versions/*/bin/python`, else `/root/.pyenv/versions/*`,
/// else `python3` / `python2` on `PATH`: the first source that yields a
/// working interpreter wins. One interpreter per version, oldest first.
fn discover() -> Vec<Python> {
    let sources: [Box<dyn Fn() -> Vec<PathBuf>>; 3] = [
        Box::new(|| {
            env::var_os("PYENV_ROOT")
                .map(|r| pyenv_candidates(Path::new(&r)))
                .unwrap_or_default()
        }),
        Box::new(|| pyenv_candidates(Path::new("/root/.pyenv"))),
        Box::new(path_candidates),
    ];
    for source in sources {
        let mut by_version = BTreeMap::new();
        for path in source() {
            if let Some(py) = query_version(&path) {
                by_version.entry(py.version).or_insert(py);
            }
        }
        if !by_version.is_empty() {
            return by_version.into_values().collect();
        }
    }
    Vec::new()
}

/// The interpreters to run `test` with. `None` (after printing why) when
/// there are none and none are required; panics when [`REQUIRE_ENV`] is `1`
/// and an interpreter or a [`REQUIRED`] version is missing.
pub fn pythons(test: &str) -> Option<&'static [Python]> {
    static FOUND: OnceLock<Vec<Python>> = OnceLock::new();
    let found = FOUND.get_or_init(discover);
    if require() {
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|&&(a, b)| !found.iter().any(|p| (p.version.0, p.version.1) == (a, b)))
            .map(|(a, b)| format!("{a}.{b}"))
            .collect();
        assert!(
            !found.is_empty() && missing.is_empty(),
            "{test}: {REQUIRE_ENV}=1 but CPython {} not found (found: [{}]; searched \
             $PYENV_ROOT/versions, /root/.pyenv/versions, PATH)",
            missing.join(", "),
            found
                .iter()
                .map(Python::label)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if found.is_empty() {
        println!("{test}: skipped: no CPython found (set PYENV_ROOT)");
        return None;
    }
    Some(found)
}

/// One scenario on one interpreter (and variant).
pub struct Case<'a> {
    pub py: &'a Python,
    /// A variant within the scenario (a digest, a message size), or "".
    pub variant: &'static str,
}

impl Case<'_> {
    pub fn label(&self) -> String {
        if self.variant.is_empty() {
            self.py.label()
        } else {
            format!("{} {}", self.py.label(), self.variant)
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "(non-string panic)".to_string())
}

/// Runs `body` for every case, all in parallel threads; prints each result
/// and fails once, naming every case that failed and why.
pub fn run_matrix<'a>(
    test: &str,
    cases: Vec<Case<'a>>,
    body: impl Fn(&Case<'a>) -> Result<(), String> + Sync,
) {
    assert!(!cases.is_empty(), "{test}: no cases to run");
    let start = Instant::now();
    let results: Vec<(String, Duration, Result<(), String>)> = thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| {
                let body = &body;
                s.spawn(move || {
                    let t = Instant::now();
                    let r = body(case);
                    (t.elapsed(), r)
                })
            })
            .collect();
        cases
            .iter()
            .zip(handles)
            .map(|(case, h)| {
                let (took, r) = match h.join() {
                    Ok(done) => done,
                    Err(p) => (
                        Duration::ZERO,
                        Err(format!("panicked: {}", panic_text(&*p))),
                    ),
                };
                (case.label(), took, r)
            })
            .collect()
    });
    let summary: Vec<String> = results
        .iter()
        .map(|(label, took, r)| {
            let verdict = if r.is_ok() { "ok" } else { "FAILED" };
            format!("{label} {verdict} ({:.2}s)", took.as_secs_f64())
        })
        .collect();
    println!(
        "{test}: ran {} cases in {:.2}s: {}",
        results.len(),
        start.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    let failed: Vec<&(String, Duration, Result<(), String>)> =
        results.iter().filter(|(_, _, r)| r.is_err()).collect();
    if !failed.is_empty() {
        let labels: Vec<&str> = failed.iter().map(|(l, _, _)| l.as_str()).collect();
        let details: Vec<String> = failed
            .iter()
            .map(|(l, _, r)| format!("--- {l}:\n{}", r.as_ref().unwrap_err()))
            .collect();
        panic!(
            "{test}: failed on {} of {} cases: [{}]\n{}",
            failed.len(),
            results.len(),
            labels.join(", "),
            details.join("\n")
        );
    }
}

/// `Ok(())` when `got == want`, else an error naming `what`.
pub fn eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// The fields of an [`Outcome`], for an expected outcome: `Outcome` itself
/// is `#[non_exhaustive]`, so a test cannot build one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub peer_authenticated: bool,
    pub confirmation: Confirmation,
    pub scheme: Scheme,
    pub consumed: usize,
}

impl From<Outcome> for Expected {
    fn from(o: Outcome) -> Expected {
        Expected {
            peer_authenticated: o.peer_authenticated,
            confirmation: o.confirmation,
            scheme: o.scheme,
            consumed: o.consumed,
        }
    }
}

/// `Ok(())` when `got` has the fields `want` lists.
pub fn outcome_eq(what: &str, got: Outcome, want: Expected) -> Result<(), String> {
    eq(what, Expected::from(got), want)
}

/// `Ok(())` when the handshake failed with `want`.
pub fn handshake_error(
    result: Result<Authenticated, AuthError>,
    want: Error,
) -> Result<(), String> {
    match result {
        Err(AuthError::Handshake(e)) if e == want => Ok(()),
        other => Err(format!("want Err({want:?}), got {other:?}")),
    }
}

/// A server's stdout without its first line (`PORT n`, already checked).
pub fn after_port(lines: &[String]) -> &[String] {
    lines.get(1..).unwrap_or_default()
}

/// What a peer prints when it echoed `messages` and ended cleanly:
/// `AUTH_OK`, an `ECHO <hex>` line each, `DONE`.
pub fn echo_lines(messages: &[impl AsRef<[u8]>]) -> Vec<String> {
    let mut lines = vec!["AUTH_OK".to_string()];
    lines.extend(messages.iter().map(|m| format!("ECHO {}", hex(m.as_ref()))));
    lines.push("DONE".to_string());
    lines
}

/// Bytes as lowercase hex, the way the peers print them.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Wraps an I/O error with what was being done.
pub fn io<T>(what: &str, r: io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e} ({:?})", e.kind()))
}

/// Which peer script to run.
#[derive(Clone, Copy, Debug)]
pub enum Script {
    /// `tests/peers/mp_peer.py`: multiprocessing.connection.
    Mp,
    /// `tests/peers/recipe_peer.py`: the Cookbook recipe.
    Recipe,
}

impl Script {
    fn path(self) -> PathBuf {
        let name = match self {
            Script::Mp => "mp_peer.py",
            Script::Recipe => "recipe_peer.py",
        };
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("peers")
            .join(name)
    }
}

/// How a peer ended: its exit code and every stdout line it printed.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub lines: Vec<String>,
}

/// A running peer: stdout read line by line in a thread (so the pipe never
/// fills), stderr collected for failure reports. Killed on drop if running
/// (by [`KillOnDrop`]).
pub struct Peer {
    child: KillOnDrop,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    status: Option<ExitStatus>,
}

impl Peer {
    /// Starts `script` under `py` with `args` (plus `--deadline`).
    pub fn spawn(py: &Python, script: Script, args: &[&str]) -> Result<Peer, String> {
        let mut child = Command::new(&py.path)
            .arg(script.path())
            .args(args)
            .args(["--deadline", PEER_DEADLINE])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {} {script:?}: {e}", py.path.display()))?;
        let lines = process::lines(child.stdout.take().expect("piped stdout"));
        let stderr = process::collect(child.stderr.take().expect("piped stderr"));
        Ok(Peer {
            child: KillOnDrop(child),
            lines,
            seen: Vec::new(),
            stderr,
            status: None,
        })
    }

    /// The next stdout line, waiting at most [`WAIT`].
    pub fn next_line(&mut self) -> Result<String, String> {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => Err(format!("no stdout line within {WAIT:?}")),
            Err(RecvTimeoutError::Disconnected) => Err("peer closed stdout".to_string()),
        }
    }

    /// Reads the `PORT n` line a server or listener prints first.
    pub fn port(&mut self) -> Result<u16, String> {
        let line = self.next_line()?;
        line.strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("expected `PORT n`, got {line:?}"))
    }

    /// Whether the process has exited (it is reaped if so).
    fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.0.try_wait().ok().flatten();
        }
        self.status.is_some()
    }

    /// Waits (at most [`WAIT`]) for the exit and the end of stdout; returns
    /// the exit code and the whole stdout transcript.
    pub fn finish(&mut self) -> Result<Finished, String> {
        let start = Instant::now();
        while !self.exited() {
            if start.elapsed() > WAIT {
                return Err(format!("peer still running after {WAIT:?}"));
            }
            thread::sleep(Duration::from_millis(5));
        }
        loop {
            match self
                .lines
                .recv_timeout(WAIT.saturating_sub(start.elapsed()))
            {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err("peer exited but its stdout stayed open".to_string())
                }
            }
        }
        Ok(Finished {
            code: self.status.and_then(|s| s.code()),
            lines: self.seen.clone(),
        })
    }

    /// [`finish`](Peer::finish)es, then checks the exit code and the whole
    /// stdout.
    pub fn expect_exit(&mut self, code: i32, lines: &[String]) -> Result<(), String> {
        let fin = self.finish()?;
        eq("peer exit code", fin.code, Some(code))?;
        eq("peer stdout", &fin.lines[..], lines)
    }

    /// [`expect_exit`](Peer::expect_exit) for a server or listener: its
    /// stdout after the `PORT n` line.
    pub fn expect_exit_after_port(&mut self, code: i32, lines: &[String]) -> Result<(), String> {
        let fin = self.finish()?;
        eq("peer exit code", fin.code, Some(code))?;
        eq("peer stdout after PORT", after_port(&fin.lines), lines)
    }

    /// Accepts the peer's connection on `listener`, waiting at most
    /// [`WAIT`] and failing early if the peer exits first. The stream gets
    /// read and write timeouts of [`WAIT`].
    pub fn accept(&mut self, listener: &TcpListener) -> Result<TcpStream, String> {
        io("listener nonblocking", listener.set_nonblocking(true))?;
        let start = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.exited() {
                        return Err("peer exited without connecting".to_string());
                    }
                    if start.elapsed() > WAIT {
                        return Err(format!("no connection within {WAIT:?}"));
                    }
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return io("accept", Err(e)),
            }
        };
        io("stream blocking", stream.set_nonblocking(false))?;
        timeouts(&stream)?;
        Ok(stream)
    }

    /// What the peer said so far, for a failure report. Stops it first.
    fn report(&mut self) -> String {
        if !self.exited() {
            let _ = self.child.0.kill();
            self.status = self.child.0.wait().ok();
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        thread::sleep(Duration::from_millis(20));
        let stderr = process::text(&self.stderr);
        format!(
            "  peer exit: {:?}\n  peer stdout: {:?}\n  peer stderr: {}",
            self.status,
            self.seen,
            stderr.trim_end()
        )
    }

    /// Runs `body`; on failure appends the peer's transcript to the error.
    pub fn check(
        &mut self,
        body: impl FnOnce(&mut Peer) -> Result<(), String>,
    ) -> Result<(), String> {
        body(self).map_err(|e| format!("{e}\n{}", self.report()))
    }
}

/// Read and write timeouts of [`WAIT`] on `stream`.
pub fn timeouts(stream: &TcpStream) -> Result<(), String> {
    io("read timeout", stream.set_read_timeout(Some(WAIT)))?;
    io("write timeout", stream.set_write_timeout(Some(WAIT)))
}

/// A listener on `127.0.0.1:0` and its port.
pub fn bind() -> Result<(TcpListener, String), String> {
    let listener = io("bind", TcpListener::bind("127.0.0.1:0"))?;
    let port = io("local_addr", listener.local_addr())?.port();
    Ok((listener, port.to_string()))
}

/// Connects to the peer on `127.0.0.1:port`, with [`timeouts`].
pub fn connect(port: u16) -> Result<TcpStream, String> {
    let addr = ([127, 0, 0, 1], port).into();
    let stream = io("connect", TcpStream::connect_timeout(&addr, WAIT))?;
    timeouts(&stream)?;
    Ok(stream)
}
