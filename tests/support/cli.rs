//! The `hmac-handshake` binary as the CLI tests run it: `serve` in the
//! background (killed on drop, stdout read line by line), one-shot runs
//! with a bounded wait, and the shape of `serve`'s per-connection lines.
//! Every wait is bounded by [`WAIT`]; the key reaches the binary only
//! through [`KEY_ENV`] when the caller gives one.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{ChildStderr, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread;

pub use super::process::WAIT;
use super::process::{self, KillOnDrop};

pub const BIN: &str = env!("CARGO_BIN_EXE_hmac-handshake");
pub const KEY_ENV: &str = "HMAC_HANDSHAKE_KEY";

/// Why `serve` rejects a client whose proof does not verify.
pub const BAD_MAC: &str =
    "the peer's MAC did not verify: it holds a different key, or the exchange was altered";
/// Why `serve` rejects a client that hangs up mid-handshake.
pub const CLOSED_EARLY: &str = "the client closed the connection during the handshake";

/// An address for runs that must fail before they connect: nothing listens
/// on port 1.
pub const NOWHERE: &str = "127.0.0.1:1";

/// Writes `contents` to the file at `path` with mode 0600 (set on an
/// existing file too), as a key file or keyring must be.
pub fn write_private(path: impl AsRef<std::path::Path>, contents: impl AsRef<[u8]>) {
    use std::os::unix::fs::PermissionsExt;
    let path = path.as_ref();
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `serve --profile PROFILE --listen 127.0.0.1:0 EXTRA...`
pub fn serve_args<'a>(profile: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["serve", "--profile", profile, "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    args
}

/// `connect --profile PROFILE ADDR --message MESSAGE EXTRA...`
pub fn connect_args<'a>(
    profile: &'a str,
    addr: &'a str,
    message: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["connect", "--profile", profile, addr, "--message", message];
    args.extend_from_slice(extra);
    args
}

/// The binary with `args`, stdin closed, stdout piped, and `key` (if any)
/// as the only key in its environment.
fn command(args: &[&str], key: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove(KEY_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if let Some(key) = key {
        cmd.env(KEY_ENV, key);
    }
    cmd
}

/// A running `serve`; killed on drop.
pub struct Server {
    _child: KillOnDrop,
    lines: Receiver<String>,
    pub addr: SocketAddr,
}

impl Server {
    /// `serve --profile PROFILE --listen 127.0.0.1:0 EXTRA...` with `key`
    /// (if any) in the environment; returns once it printed `listening on
    /// 127.0.0.1:PORT`.
    pub fn spawn(profile: &str, extra: &[&str], key: Option<&str>) -> Server {
        Server::launch(profile, extra, key, Stdio::null()).0
    }

    /// As [`Server::spawn`], with stderr piped: the receiver gets all of
    /// it once the server has exited (once it is dropped).
    pub fn spawn_with_stderr(
        profile: &str,
        extra: &[&str],
        key: Option<&str>,
    ) -> (Server, Receiver<io::Result<Vec<u8>>>) {
        let (server, stderr) = Server::launch(profile, extra, key, Stdio::piped());
        (server, process::read_all(stderr.expect("piped stderr")))
    }

    fn launch(
        profile: &str,
        extra: &[&str],
        key: Option<&str>,
        stderr: Stdio,
    ) -> (Server, Option<ChildStderr>) {
        let mut child = command(&serve_args(profile, extra), key)
            .stderr(stderr)
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("serve stdout");
        let stderr = child.stderr.take();
        let mut server = Server {
            _child: KillOnDrop(child),
            lines: process::lines(stdout),
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let first = server.next_line();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line {first:?}"));
        server.addr = addr.parse().expect("listening address");
        assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
        assert_ne!(server.addr.port(), 0);
        (server, stderr)
    }

    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("serve printed no line in time")
    }

    /// The next `n` lines, in order.
    pub fn lines(&self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.next_line()).collect()
    }

    pub fn port(&self) -> String {
        self.addr.to_string()
    }
}

/// A finished run of the binary.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("UTF-8 stdout")
    }
}

/// Shows stdout as text when it is UTF-8 (it is but for `keygen --raw`).
impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut run = f.debug_struct("Run");
        run.field("code", &self.code);
        match std::str::from_utf8(&self.stdout) {
            Ok(text) => run.field("stdout", &text),
            Err(_) => run.field("stdout", &self.stdout),
        };
        run.field("stderr", &self.stderr).finish()
    }
}

/// Runs the binary with `args` and the key `key` in the environment (or
/// none), killing it if it outlives [`WAIT`].
pub fn run(args: &[&str], key: Option<&str>) -> Run {
    let mut cmd = command(args, key);
    let mut child = KillOnDrop(cmd.stderr(Stdio::piped()).spawn().expect("spawn"));
    let out = process::read_all(child.0.stdout.take().unwrap());
    let err = process::read_all(child.0.stderr.take().unwrap());
    let Some(status) = process::wait_within(&mut child.0, WAIT).expect("try_wait") else {
        panic!("{args:?} did not finish within {WAIT:?}");
    };
    let read = |pipe: Receiver<std::io::Result<Vec<u8>>>| {
        pipe.recv_timeout(WAIT)
            .expect("the binary exited but left its output open")
            .expect("read the binary's output")
    };
    Run {
        code: status.code(),
        stdout: read(out),
        stderr: String::from_utf8_lossy(&read(err)).into_owned(),
    }
}

/// `connect --profile PROFILE SERVER --message MESSAGE EXTRA...` with `key`
/// in the environment.
pub fn connect(server: &Server, profile: &str, message: &str, key: &str, extra: &[&str]) -> Run {
    let addr = server.port();
    run(&connect_args(profile, &addr, message, extra), Some(key))
}

/// A TCP connection to `server`, every operation bounded by [`WAIT`].
pub fn tcp(server: &Server) -> TcpStream {
    let stream = TcpStream::connect_timeout(&server.addr, WAIT).expect("tcp connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// Checks a successful native `connect`: the echo `message` alone on
/// stdout, and `authenticated key_id=ID suite=SUITE handshake_hash=HEX
/// forward_secrecy=yes|no` alone on stderr, HEX being `hash_len` bytes of
/// lowercase hex. Returns HEX.
#[track_caller]
pub fn assert_authenticated(
    r: &Run,
    message: &str,
    key_id: &str,
    suite: &str,
    hash_len: usize,
    forward_secrecy: bool,
) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout(), format!("{message}\n"), "{r:?}");
    let prefix = format!("authenticated key_id={key_id} suite={suite} handshake_hash=");
    let suffix = format!(
        " forward_secrecy={}\n",
        if forward_secrecy { "yes" } else { "no" }
    );
    let hash = r
        .stderr
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(&suffix))
        .unwrap_or_else(|| panic!("stderr {:?} is not {prefix}HEX{suffix:?}", r.stderr));
    assert_eq!(hash.len(), 2 * hash_len, "{hash:?}");
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{hash:?}"
    );
    hash.to_string()
}

/// `accepted 127.0.0.1:PORT TAIL`, any client port; returns TAIL.
#[track_caller]
pub fn accepted_tail(line: &str) -> &str {
    after_client(line, "accepted", " ")
}

/// `rejected 127.0.0.1:PORT: REASON`, any client port; returns REASON.
#[track_caller]
pub fn rejected_reason(line: &str) -> &str {
    after_client(line, "rejected", ": ")
}

/// `VERDICT 127.0.0.1:PORT` `SEP` REST, any client port; returns REST.
#[track_caller]
fn after_client<'a>(line: &'a str, verdict: &str, sep: &str) -> &'a str {
    let rest = line
        .strip_prefix(verdict)
        .and_then(|rest| rest.strip_prefix(" 127.0.0.1:"))
        .unwrap_or_else(|| panic!("not {verdict} 127.0.0.1:PORT: {line:?}"));
    let (port, tail) = rest
        .split_once(sep)
        .unwrap_or_else(|| panic!("{verdict} line shape: {line:?}"));
    port.parse::<u16>().expect("client port");
    tail
}

/// A fake server: handles connections on the listener it is given.
pub type Fake = fn(TcpListener);

/// Plays a server with `fake` (in a thread, on a fresh 127.0.0.1 listener),
/// runs `connect --profile PROFILE ADDR --message MESSAGE EXTRA...` against
/// it holding `key`, then waits for `fake` (which checks its own side, with
/// every wait bounded) and returns the run.
pub fn connect_to_fake(profile: &str, message: &str, key: &str, extra: &[&str], fake: Fake) -> Run {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = thread::spawn(move || fake(listener));
    let r = run(&connect_args(profile, &addr, message, extra), Some(key));
    if let Err(panic) = fake.join() {
        eprintln!("connect: {r:?}");
        std::panic::resume_unwind(panic);
    }
    r
}

/// Runs `connect --profile PROFILE ADDR --message hi` holding `key` against
/// `impostor` ([`connect_to_fake`]) and checks that the client rejects the
/// server's proof: exit 3, nothing on stdout, [`BAD_MAC`] on stderr.
#[track_caller]
pub fn assert_connect_rejects_impostor(profile: &str, key: &str, impostor: Fake) {
    let r = connect_to_fake(profile, "hi", key, &[], impostor);
    assert_eq!(r.code, Some(3), "{r:?}");
    assert_eq!(r.stdout(), "");
    assert_eq!(
        r.stderr,
        format!("authentication failed: we rejected the server: {BAD_MAC}\n")
    );
}

/// A one-connection TCP server on 127.0.0.1 that writes `first` as soon
/// as it accepts (a server of another protocol that speaks first, e.g. an
/// HTTP error page), then closes; its address and its thread.
pub fn speaks_first(first: &'static [u8]) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let thread = std::thread::spawn(move || {
        use std::io::Write as _;
        let (mut conn, _) = listener.accept().expect("accept");
        conn.write_all(first).expect("write");
    });
    (addr, thread)
}
