//! The `hmac-handshake` binary (feature `cli`, `--profile multiprocessing`)
//! against real CPython `multiprocessing.connection` peers
//! (`tests/peers/mp_peer.py`): `serve` with Python clients, `connect` to
//! Python listeners, right and wrong keys, and MD5 gated by `--allow-md5`.
//!
//! Interpreters: the oldest one before 3.12 (legacy: raw HMAC-MD5) and the
//! newest from 3.12 (`{sha256}`) that [`pythons`] finds, which is 2.7 and
//! 3.13 on the usual pyenv set (and always under
//! `HMAC_HANDSHAKE_REQUIRE_PYTHON=1`, which requires both).
//!
//! `serve` gets its key from `--key-file` (raw bytes, NUL and 0xff
//! included); `connect` from `HMAC_HANDSHAKE_KEY` (UTF-8, not ASCII). Every
//! wait is bounded by [`WAIT`]; the CLI's own handshake deadline is
//! `--timeout 5`; a CLI process still running when its guard drops is
//! killed by its process id; everything binds 127.0.0.1.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::multiprocessing::{mp_client, mp_listener};
use crate::python::{echo_lines, eq, pythons, run_matrix, Case, Peer, Python, WAIT};
use crate::support::cli::{BAD_MAC, BIN, KEY_ENV};
use crate::support::process::{self, KillOnDrop};
/// The CLI's `--timeout` (handshake deadline), well under [`WAIT`].
const CLI_TIMEOUT: &str = "5";

/// `serve`'s key, through `--key-file`: raw bytes an environment variable
/// could not carry (NUL) and that are not UTF-8 (0xfe, 0xff).
const FILE_KEY: &[u8] = b"cli interop \x00\x01\xfe\xff shared secret";
/// [`FILE_KEY`] with its last bit flipped.
const WRONG_FILE_KEY: &[u8] = b"cli interop \x00\x01\xfe\xff shared secreu";
/// `connect`'s key, through `HMAC_HANDSHAKE_KEY` (its UTF-8 bytes).
const ENV_KEY: &str = "cl\u{e9} partag\u{e9}e \u{2713} cli interop";
/// [`ENV_KEY`] with its last character changed.
const WRONG_ENV_KEY: &str = "cl\u{e9} partag\u{e9}e \u{2713} cli interoq";
/// What `connect` sends: spaces, punctuation and multi-byte UTF-8.
const TEXT: &str = "h\u{e9}llo, multiprocessing \u{2713} from the CLI";

/// `connect`'s stderr when the Python listener answers `#FAILURE#`.
const SERVER_REJECTED: &str = "authentication failed: the server rejected our proof \
    (#FAILURE#): the two sides hold different keys\n";
/// Why `serve` refuses a legacy (HMAC-MD5) client without `--allow-md5`.
const MD5_REFUSED: &str = "the peer uses HMAC-MD5, so it looks like Python <= 3.11 (or asked \
    for {md5}); enable MD5 with allow_md5 (CLI: --allow-md5) if that peer is expected";
/// `connect`'s stderr for a legacy (HMAC-MD5) listener without `--allow-md5`.
const CONNECT_MD5_REFUSED: &str = "error: the server uses HMAC-MD5 (Python <= 3.11 \
    multiprocessing?): pass --allow-md5 to talk to it\n";

/// A Python client told `#FAILURE#`.
const CLIENT_REJECTED: &str = "AUTH_FAILED AuthenticationError: digest sent was rejected";
/// A Python listener whose client's proof did not verify.
const LISTENER_BAD_DIGEST: &str = "AUTH_FAILED AuthenticationError: digest received was wrong";
/// A Python listener whose client closed after the challenge.
const LISTENER_EOF: &str = "AUTH_FAILED EOFError: ";

/// What the Python clients send `serve`: every byte value, an empty
/// message, and 2048 bytes (past the 256-byte limit on handshake messages,
/// which must not apply to the echo). Kept small: a failure report prints
/// every `ECHO` line.
fn messages() -> [Vec<u8>; 3] {
    let mut first: Vec<u8> = (0..=255u8).collect();
    first.extend_from_slice(b" cli serve interop");
    let big = (0..2048u32).map(|i| (i * 7 + i / 251) as u8).collect();
    [first, Vec::new(), big]
}

/// `true` for a legacy interpreter (<= 3.11): raw HMAC-MD5, which the CLI
/// takes only with `--allow-md5`.
fn legacy(py: &Python) -> bool {
    !py.at_least(3, 12)
}

/// The digest `serve` reports for a client of this version.
fn digest_of(py: &Python) -> &'static str {
    if legacy(py) {
        "md5"
    } else {
        "sha256"
    }
}

/// What the CLI needs for a peer of this version (both subcommands).
fn md5_flag(py: &Python) -> &'static [&'static str] {
    if legacy(py) {
        &["--allow-md5"]
    } else {
        &[]
    }
}

/// The oldest legacy and the newest modern interpreter found (2.7 and 3.13
/// with pyenv), or `None` (skipped) when there is no interpreter at all.
fn picked(test: &str) -> Option<Vec<&'static Python>> {
    let found = pythons(test)?;
    let oldest_legacy = found.iter().find(|p| legacy(p));
    let newest_modern = found.iter().rev().find(|p| !legacy(p));
    if oldest_legacy.is_none() {
        println!("{test}: no CPython <= 3.11 found: legacy (MD5) cases skipped");
    }
    if newest_modern.is_none() {
        println!("{test}: no CPython >= 3.12 found: modern ({{sha256}}) cases skipped");
    }
    Some(oldest_legacy.into_iter().chain(newest_modern).collect())
}

/// Every picked interpreter with every variant.
fn cases(pys: &[&'static Python], variants: &[&'static str]) -> Vec<Case<'static>> {
    pys.iter()
        .flat_map(|&py| variants.iter().map(move |&variant| Case { py, variant }))
        .collect()
}

/// A key file for `--key-file`, removed on drop.
struct KeyFile(PathBuf);

impl KeyFile {
    fn new(key: &[u8]) -> Result<KeyFile, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hmac-handshake-interop-cli-{}-{}.key",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let fail = |e| format!("key file {}: {e}", path.display());
        // Owned (removed on drop) only once created here: create_new never
        // takes over a file that was already there.
        let mut handle = options.open(&path).map_err(fail)?;
        let file = KeyFile(path.clone());
        handle.write_all(key).map_err(fail)?;
        Ok(file)
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A running `serve --profile multiprocessing --listen 127.0.0.1:0`: stdout
/// read line by line in a thread, stderr collected for failure reports.
struct Serve {
    child: KillOnDrop,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    addr: SocketAddr,
    _key: KeyFile,
}

impl Serve {
    /// Starts `serve` holding `key` (by `--key-file`) with `extra` options,
    /// and reads its `listening on 127.0.0.1:PORT` line.
    fn start(key: &[u8], extra: &[&str]) -> Result<Serve, String> {
        let key = KeyFile::new(key)?;
        let mut child = Command::new(BIN)
            .args(["serve", "--profile", "multiprocessing"])
            .args(["--listen", "127.0.0.1:0", "--timeout", CLI_TIMEOUT])
            .arg("--key-file")
            .arg(&key.0)
            .args(extra)
            .env_remove(KEY_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {BIN} serve: {e}"))?;
        let lines = process::lines(child.stdout.take().expect("piped stdout"));
        let stderr = process::collect(child.stderr.take().expect("piped stderr"));
        let mut serve = Serve {
            child: KillOnDrop(child),
            lines,
            seen: Vec::new(),
            stderr,
            addr: ([0, 0, 0, 0], 0).into(),
            _key: key,
        };
        serve.check(|serve| {
            let first = serve.next_line()?;
            let addr = first
                .strip_prefix("listening on ")
                .and_then(|a| a.parse::<SocketAddr>().ok())
                .ok_or_else(|| format!("first serve line {first:?}: want `listening on ADDR`"))?;
            eq(
                "serve's first line",
                first.clone(),
                format!("listening on {addr}"),
            )?;
            eq("listening ip", addr.ip().to_string().as_str(), "127.0.0.1")?;
            if addr.port() == 0 {
                return Err(format!("listening on port 0: {first:?}"));
            }
            serve.addr = addr;
            Ok(())
        })?;
        Ok(serve)
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// The next stdout line, waiting at most [`WAIT`].
    fn next_line(&mut self) -> Result<String, String> {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => Err(format!("no serve line within {WAIT:?}")),
            Err(RecvTimeoutError::Disconnected) => Err("serve closed its stdout".to_string()),
        }
    }

    /// The next line, which must be about one connection from a Python
    /// client on 127.0.0.1 (not from `serve`'s own port): `accepted PEER
    /// ...` or `rejected PEER: ...`. Returns the line and PEER.
    fn verdict_line(&mut self, verdict: &str) -> Result<(String, SocketAddr), String> {
        let line = self.next_line()?;
        // `accepted 127.0.0.1:PORT digest=...` / `rejected 127.0.0.1:PORT: ...`
        let peer: SocketAddr = line
            .strip_prefix(verdict)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|addr| addr.trim_end_matches(':').parse().ok())
            .ok_or_else(|| format!("serve line {line:?}: want `{verdict} 127.0.0.1:PORT ...`"))?;
        eq("client ip", peer.ip().to_string().as_str(), "127.0.0.1")?;
        if peer.port() == 0 || peer.port() == self.addr.port() {
            return Err(format!("serve line {line:?}: odd client port"));
        }
        Ok((line, peer))
    }

    /// No further stdout line for a moment (no stray connection or verdict).
    fn quiet(&mut self) -> Result<(), String> {
        match self.lines.recv_timeout(Duration::from_millis(150)) {
            Ok(line) => {
                self.seen.push(line.clone());
                Err(format!("unexpected serve line {line:?}"))
            }
            Err(_) => Ok(()),
        }
    }

    /// What `serve` said so far, for a failure report. Stops it first.
    fn report(&mut self) -> String {
        let status = match self.child.0.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                let _ = self.child.0.kill();
                self.child.0.wait().ok()
            }
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        format!(
            "  serve exit: {status:?}\n  serve stdout: {:?}\n  serve stderr: {}",
            self.seen,
            process::text(&self.stderr).trim_end()
        )
    }

    /// Runs `body`; on failure appends `serve`'s transcript to the error.
    fn check(&mut self, body: impl FnOnce(&mut Serve) -> Result<(), String>) -> Result<(), String> {
        body(self).map_err(|e| format!("{e}\n{}", self.report()))
    }
}

/// How a `connect` run ended.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `connect --profile multiprocessing 127.0.0.1:PORT --message TEXT`
/// holding `key` (by `HMAC_HANDSHAKE_KEY`) with `extra` options, to the end
/// (at most [`WAIT`]).
fn connect(port: u16, key: &str, extra: &[&str]) -> Result<Ran, String> {
    let mut child = Command::new(BIN)
        .args(["connect", "--profile", "multiprocessing"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--message", TEXT, "--timeout", CLI_TIMEOUT])
        .args(extra)
        .env(KEY_ENV, key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {BIN} connect: {e}"))?;
    let stdout = process::read_all(child.stdout.take().expect("piped stdout"));
    let stderr = process::read_all(child.stderr.take().expect("piped stderr"));
    let mut child = KillOnDrop(child);
    let start = Instant::now();
    let status = match process::wait_within(&mut child.0, WAIT) {
        Ok(Some(status)) => status,
        Ok(None) => return Err(format!("connect still running after {WAIT:?} (killed)")),
        Err(e) => return Err(format!("connect: wait: {e}")),
    };
    // Both pipes close when connect exits (it starts no other process).
    let take = |what: &str, pipe: Receiver<std::io::Result<Vec<u8>>>| match pipe
        .recv_timeout(WAIT.saturating_sub(start.elapsed()))
    {
        Ok(Ok(bytes)) => String::from_utf8(bytes).map_err(|e| format!("connect {what}: {e}")),
        Ok(Err(e)) => Err(format!("connect {what}: {e} ({:?})", e.kind())),
        Err(_) => Err(format!("connect exited but its {what} stayed open")),
    };
    Ok(Ran {
        code: status.code(),
        stdout: take("stdout", stdout)?,
        stderr: take("stderr", stderr)?,
    })
}

/// `eq` on a whole `connect` run, reporting all of it on a mismatch.
fn ran_eq(ran: &Ran, code: i32, stdout: &str, stderr: &str) -> Result<(), String> {
    let all = || format!("\n  connect: {ran:?}");
    eq("connect exit code", ran.code, Some(code)).map_err(|e| e + &all())?;
    eq("connect stdout", ran.stdout.as_str(), stdout).map_err(|e| e + &all())?;
    eq("connect stderr", ran.stderr.as_str(), stderr).map_err(|e| e + &all())
}

/// `mp_peer.py --role client` holding `key`, sending `messages()` to
/// `serve`.
fn python_client(py: &Python, serve: &Serve, key: &[u8]) -> Result<Peer, String> {
    mp_client(py, &serve.port(), key, &messages())
}

/// `mp_peer.py --role listener` holding `key` (UTF-8), and its port.
fn python_listener(py: &Python, key: &str) -> Result<(Peer, u16), String> {
    let mut peer = mp_listener(py, key.as_bytes())?;
    let mut port = 0;
    peer.check(|peer| {
        port = peer.port()?;
        Ok(())
    })?;
    Ok((peer, port))
}

/// `connect` holding [`ENV_KEY`] (with `extra`) to a Python listener holding
/// `listener_key`, which must fail: exit `code`, nothing on stdout, `stderr`;
/// and the listener's last word is `listener_line` (exit 3).
fn connect_fails(
    py: &Python,
    listener_key: &str,
    extra: &[&str],
    (code, stderr): (i32, &str),
    listener_line: &str,
) -> Result<(), String> {
    let (mut listener, port) = python_listener(py, listener_key)?;
    listener.check(|listener| {
        let ran = connect(port, ENV_KEY, extra)?;
        ran_eq(&ran, code, "", stderr)?;
        listener.expect_exit_after_port(3, &[listener_line.to_string()])
    })
}

/// A Python client holding `client_key` to `serve` holding [`FILE_KEY`]
/// (with `extra`), which must reject it: `serve` prints `rejected PEER:
/// REASON`, then nothing more; the client is told `#FAILURE#` (exit 3).
fn serve_rejects(
    py: &Python,
    client_key: &[u8],
    extra: &[&str],
    reason: &str,
) -> Result<(), String> {
    let mut serve = Serve::start(FILE_KEY, extra)?;
    serve.check(|serve| {
        let mut client = python_client(py, serve, client_key)?;
        client.check(|client| {
            client.expect_exit(3, &[CLIENT_REJECTED.to_string()])?;
            let (line, peer) = serve.verdict_line("rejected")?;
            eq("serve line", line, format!("rejected {peer}: {reason}"))?;
            serve.quiet()
        })
    })
}

/// Case 1: `serve` (with `--allow-md5` only for a legacy client) and a Python
/// client with the same key: `AUTH_OK`, every message echoed byte for byte,
/// and `serve` prints `accepted 127.0.0.1:PORT digest=sha256` (3.12+) or
/// `digest=md5` (<= 3.11).
#[test]
fn serve_accepts_python_clients_and_echoes() {
    let test = "cli::serve_accepts_python_clients_and_echoes";
    let Some(pys) = picked(test) else { return };
    run_matrix(test, cases(&pys, &[""]), |case| {
        let mut serve = Serve::start(FILE_KEY, md5_flag(case.py))?;
        serve.check(|serve| {
            let mut client = python_client(case.py, serve, FILE_KEY)?;
            client.check(|client| {
                client.expect_exit(0, &echo_lines(&messages()))?;
                let (line, peer) = serve.verdict_line("accepted")?;
                let digest = digest_of(case.py);
                eq(
                    "serve line",
                    line,
                    format!("accepted {peer} digest={digest}"),
                )?;
                serve.quiet()
            })
        })
    });
}

/// Case 2: a Python listener and `connect` (with `--allow-md5` only for a legacy
/// listener) with the same key: exit 0, stdout is exactly the message and a
/// newline, stderr is empty, and the listener echoed exactly that message.
#[test]
fn connect_to_python_listeners() {
    let test = "cli::connect_to_python_listeners";
    let Some(pys) = picked(test) else { return };
    run_matrix(test, cases(&pys, &[""]), |case| {
        let (mut listener, port) = python_listener(case.py, ENV_KEY)?;
        listener.check(|listener| {
            let ran = connect(port, ENV_KEY, md5_flag(case.py))?;
            ran_eq(&ran, 0, &format!("{TEXT}\n"), "")?;
            listener.expect_exit_after_port(0, &echo_lines(&[TEXT]))
        })
    });
}

/// Case 3: another key, both directions (MD5 allowed for a legacy peer, so the
/// proof itself is what fails):
/// - `connect` to a Python listener: the listener answers `#FAILURE#`
///   (`digest received was wrong`), `connect` exits 3 saying the server
///   rejected our proof, with nothing on stdout;
/// - a Python client to `serve`: `serve` prints `rejected PEER: <bad MAC>`
///   and the client fails with `AUTH_FAILED ... digest sent was rejected`
///   (exit 3).
#[test]
fn wrong_key_fails_in_both_directions() {
    let test = "cli::wrong_key_fails_in_both_directions";
    let Some(pys) = picked(test) else { return };
    run_matrix(test, cases(&pys, &["connect", "serve"]), |case| {
        let allow_md5 = md5_flag(case.py);
        if case.variant == "connect" {
            connect_fails(
                case.py,
                WRONG_ENV_KEY,
                allow_md5,
                (3, SERVER_REJECTED),
                LISTENER_BAD_DIGEST,
            )
        } else {
            serve_rejects(case.py, WRONG_FILE_KEY, allow_md5, BAD_MAC)
        }
    });
}

/// MD5 needs `--allow-md5`, both directions, with the right key: a legacy
/// (<= 3.11) client is refused by `serve` (`rejected PEER: <MD5 refused>`,
/// and the client is told `#FAILURE#`); `connect` refuses a legacy
/// listener's MD5 challenge as a configuration mismatch (exit 1, pointing
/// at `--allow-md5`), and the listener sees the connection close
/// (`EOFError`).
#[test]
fn legacy_peers_need_allow_md5() {
    let test = "cli::legacy_peers_need_allow_md5";
    let Some(pys) = picked(test) else { return };
    let legacy_pys: Vec<&'static Python> = pys.into_iter().filter(|p| legacy(p)).collect();
    if legacy_pys.is_empty() {
        println!("{test}: skipped: no CPython <= 3.11 found");
        return;
    }
    run_matrix(test, cases(&legacy_pys, &["connect", "serve"]), |case| {
        if case.variant == "connect" {
            connect_fails(
                case.py,
                ENV_KEY,
                &[],
                (1, CONNECT_MD5_REFUSED),
                LISTENER_EOF,
            )
        } else {
            serve_rejects(case.py, FILE_KEY, &[], MD5_REFUSED)
        }
    });
}
