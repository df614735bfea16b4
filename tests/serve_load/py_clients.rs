//! CPython `multiprocessing.connection.Client`s in bulk: one interpreter
//! running `tests/peers/mp_load.py --role clients`, which connects,
//! authenticates, echoes one message and closes, client after client, and
//! times each inside the interpreter (start-up excluded).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::python::Python;
use crate::support::process::{self, KillOnDrop};

/// `tests/peers/mp_load.py`.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mp_load.py")
}

/// The message client `index` of a run with `prefix` sends:
/// `PREFIX` + the index in four digits.
pub fn message(prefix: &str, index: usize) -> Vec<u8> {
    format!("{prefix}{index:04}").into_bytes()
}

/// One client that authenticated and got an echo.
#[derive(Clone, Debug)]
pub struct Served {
    pub index: usize,
    /// Connect to the end of the handshake, in seconds.
    pub handshake: f64,
    /// Connect to after close, in seconds.
    pub total: f64,
    /// What came back.
    pub echo: Vec<u8>,
}

/// What one interpreter's run came to.
#[derive(Debug, Default)]
pub struct Results {
    pub served: Vec<Served>,
    /// The `FAIL` lines, and anything else unexpected.
    pub failed: Vec<String>,
}

/// A running `mp_load.py --role clients`; killed on drop.
pub struct Clients {
    child: KillOnDrop,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Clients {
    /// Starts `count` clients one after the other against
    /// `127.0.0.1:port` with `key`; `nodelay` sets TCP_NODELAY before the
    /// handshake.
    pub fn spawn(
        py: &Python,
        port: u16,
        key: &[u8],
        count: usize,
        prefix: &str,
        nodelay: bool,
    ) -> Result<Clients, String> {
        let mut cmd = Command::new(&py.path);
        cmd.arg(script())
            .args(["--role", "clients", "--port", &port.to_string()])
            .args([
                "--key-hex",
                &hex::encode(key),
                "--count",
                &count.to_string(),
            ])
            .args(["--prefix", prefix]);
        if nodelay {
            cmd.arg("--nodelay");
        }
        let mut child = cmd
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", py.path.display()))?;
        let lines = process::lines(child.stdout.take().expect("piped stdout"));
        let stderr = process::collect(child.stderr.take().expect("piped stderr"));
        Ok(Clients {
            child: KillOnDrop(child),
            lines,
            stderr,
        })
    }

    /// Reads every line up to `DONE`, all within `limit`.
    pub fn finish(mut self, limit: Duration) -> Result<Results, String> {
        let start = Instant::now();
        let mut results = Results::default();
        loop {
            let line = match self
                .lines
                .recv_timeout(limit.saturating_sub(start.elapsed()))
            {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("no DONE within {limit:?}: {results:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = process::wait_within(&mut self.child.0, limit);
                    return Err(format!(
                        "mp_load.py ended before DONE: {:?}, stderr: {}",
                        results.failed,
                        process::text(&self.stderr).trim_end()
                    ));
                }
            };
            if line == "DONE" {
                return Ok(results);
            }
            match parse_ok(&line) {
                Some(served) => results.served.push(served),
                None => results.failed.push(line),
            }
        }
    }
}

/// `OK <i> <handshake_s> <total_s> <echo_hex>`.
fn parse_ok(line: &str) -> Option<Served> {
    let mut f = line.strip_prefix("OK ")?.split(' ');
    let served = Served {
        index: f.next()?.parse().ok()?,
        handshake: f.next()?.parse().ok()?,
        total: f.next()?.parse().ok()?,
        echo: hex::decode(f.next()?).ok()?,
    };
    f.next().is_none().then_some(served)
}
