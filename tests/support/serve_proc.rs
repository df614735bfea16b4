//! A `serve` process the serve tests steer: any arguments (a Unix socket
//! address included), stdout read line by line, stderr gathered, signals
//! sent by process id (`kill -SIGNAL PID`), and a bounded wait for its
//! exit; or stdout left unread after its first line, until the test says.
//! Killed on drop if it still runs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::cli::{BIN, KEY_ENV};
use crate::support::process::{self, KillOnDrop, WAIT};

/// A running `serve`.
pub struct Serve {
    child: KillOnDrop,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// What followed `listening on `: `127.0.0.1:PORT` or `unix:PATH`.
    pub addr: String,
}

impl Serve {
    /// `hmac-handshake serve ARGS...` with `key` (if any) as
    /// `HMAC_HANDSHAKE_KEY`; returns once it printed `listening on ADDR`.
    pub fn start(args: &[&str], key: Option<&str>) -> Serve {
        Serve::launch(args, key, None)
    }

    /// As [`Serve::start`], but nothing more of stdout is read after
    /// `listening on ADDR` until the sender returned is sent `()` (or
    /// dropped): the pipe fills as a stdout nobody reads would.
    pub fn start_stalled(args: &[&str], key: Option<&str>) -> (Serve, Sender<()>) {
        let (go, gate) = mpsc::channel();
        (Serve::launch(args, key, Some(gate)), go)
    }

    fn launch(args: &[&str], key: Option<&str>, gate: Option<Receiver<()>>) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(args)
            .env_remove(KEY_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = key {
            cmd.env(KEY_ENV, key);
        }
        let mut child = cmd.spawn().expect("spawn serve");
        let lines = gated_lines(child.stdout.take().expect("stdout"), gate);
        let stderr = process::collect(child.stderr.take().expect("stderr"));
        let mut serve = Serve {
            child: KillOnDrop(child),
            lines,
            stderr,
            addr: String::new(),
        };
        let first = serve.next_line();
        serve.addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line {first:?}; stderr {}", serve.stderr()))
            .to_string();
        serve
    }

    /// The next stdout line, within [`WAIT`].
    #[track_caller]
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("serve printed no line in time; stderr {}", self.stderr()))
    }

    /// The next stdout line within `limit`, if any.
    pub fn line_within(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    /// Lines until one satisfies `want` (returned), within [`WAIT`]; the
    /// lines skipped are returned too.
    #[track_caller]
    pub fn until(&self, want: impl Fn(&str) -> bool) -> (String, Vec<String>) {
        let start = Instant::now();
        let mut skipped = Vec::new();
        while start.elapsed() < WAIT {
            if let Some(line) = self.line_within(Duration::from_millis(100)) {
                if want(&line) {
                    return (line, skipped);
                }
                skipped.push(line);
            }
        }
        panic!(
            "no such line in time; got {skipped:?}; stderr {}",
            self.stderr()
        );
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        process::text(&self.stderr)
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.0.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}: {status}");
    }

    /// Its exit status, within `limit`.
    #[track_caller]
    pub fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        process::wait_within(&mut self.child.0, limit)
            .expect("try_wait")
            .unwrap_or_else(|| panic!("serve still runs after {limit:?}"))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The `host:port` of a TCP server.
    pub fn tcp_addr(&self) -> std::net::SocketAddr {
        self.addr.parse().expect("a TCP address")
    }
}

/// The lines of `pipe`, as [`process::lines`] sends them; with a `gate`,
/// only the first until the gate opens (is sent to or dropped).
fn gated_lines(pipe: impl Read + Send + 'static, gate: Option<Receiver<()>>) -> Receiver<String> {
    let Some(gate) = gate else {
        return process::lines(pipe);
    };
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut first = String::new();
        if reader.read_line(&mut first).is_err() {
            return;
        }
        let _ = tx.send(first.trim_end_matches('\n').to_string());
        let _ = gate.recv();
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
