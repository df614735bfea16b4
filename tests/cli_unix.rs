#![cfg(feature = "cli")]
//! Unix sockets: `serve --listen unix:PATH` and `connect unix:PATH`, with
//! each other (native and multiprocessing) and with CPython 3.13's
//! `multiprocessing.connection` `Client(PATH)` and `Listener(PATH)`, which
//! authenticate over AF_UNIX exactly as over TCP. A stale socket file is
//! replaced, anything else at the path is left alone, and the file is
//! removed on a clean exit.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

use kit::cpython;
use kit::serve_proc::Serve;
use support::cli::{connect_args, run, serve_args};
use support::process::WAIT;

const KEY: &str = "unix socket key, 16+ bytes";

/// A socket path in the test target directory, removed on drop.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let dir = env!("CARGO_TARGET_TMPDIR");
        let path = PathBuf::from(format!("{dir}/u{}-{name}.sock", std::process::id()));
        let _ = fs::remove_file(&path);
        SocketPath(path)
    }

    /// `unix:PATH`.
    fn addr(&self) -> String {
        format!("unix:{}", self.0.display())
    }

    fn is_socket(&self) -> bool {
        fs::symlink_metadata(&self.0).is_ok_and(|m| m.file_type().is_socket())
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// `serve --profile PROFILE --listen unix:PATH` with [`KEY`].
fn serve(profile: &str, path: &SocketPath) -> Serve {
    let addr = path.addr();
    let serve = Serve::start(&["--profile", profile, "--listen", &addr], Some(KEY));
    assert_eq!(serve.addr, addr);
    serve
}

/// An `accepted` line of a Unix socket peer: `accepted
/// unix:pid=PID,uid=UID digest=...`; returns what follows the peer.
#[track_caller]
fn accepted_unix(line: &str) -> &str {
    let rest = line
        .strip_prefix("accepted unix:pid=")
        .unwrap_or_else(|| panic!("{line:?}"));
    let (peer, tail) = rest.split_once(' ').unwrap();
    assert!(peer.contains(",uid="), "{line:?}");
    tail
}

#[test]
fn native_serve_and_connect_over_a_unix_socket() {
    let path = SocketPath::new("native");
    let mut serve = serve("native", &path);
    let r = run(
        &connect_args("native", &path.addr(), "over unix", &[]),
        Some(KEY),
    );
    assert_eq!((r.code, r.stdout()), (Some(0), "over unix\n"), "{r:?}");
    assert_eq!(
        accepted_unix(&serve.next_line()),
        "suite=hmac-sha256 key_id=default"
    );
    // A wrong key is rejected as over TCP.
    let r = run(
        &connect_args("native", &path.addr(), "x", &[]),
        Some("another key, also 16+ bytes"),
    );
    assert_eq!(r.code, Some(3), "{r:?}");
    assert!(serve.next_line().starts_with("rejected unix:pid="));
    // A clean exit removes the socket file.
    assert!(path.is_socket());
    serve.signal("TERM");
    assert_eq!(serve.exit_within(WAIT).code(), Some(0));
    assert!(!path.0.exists(), "the socket file is left");
}

#[test]
fn cpython_client_to_serve_over_a_unix_socket() {
    let Some(py) = cpython::python313("cpython_client_to_serve_over_a_unix_socket") else {
        return;
    };
    let path = SocketPath::new("mp-serve");
    let serve = serve("multiprocessing", &path);
    let r = cpython::run(
        &py,
        cpython::CLIENT,
        &[&path.addr(), "from python", "2"],
        KEY,
        WAIT,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
    for _ in 0..2 {
        assert_eq!(accepted_unix(&serve.next_line()), "digest=sha256");
    }
}

#[test]
fn connect_to_a_cpython_listener_over_a_unix_socket() {
    let Some(py) = cpython::python313("connect_to_a_cpython_listener_over_a_unix_socket") else {
        return;
    };
    let path = SocketPath::new("mp-listen");
    let path_text = path.0.to_str().unwrap();
    let listener = cpython::PyChild::start(&py, cpython::LISTENER, &[path_text], KEY);
    let ready = listener
        .lines
        .recv_timeout(WAIT)
        .expect("the listener is ready");
    assert_eq!(ready, "ready");
    let r = run(
        &connect_args("multiprocessing", &path.addr(), "to python", &[]),
        Some(KEY),
    );
    assert_eq!((r.code, r.stdout()), (Some(0), "to python\n"), "{r:?}");
    let done = listener.finish(WAIT);
    assert_eq!(
        (done.code, done.stdout.as_str()),
        (Some(0), "echoed to python\n"),
        "{done:?}"
    );
}

/// `serve --profile multiprocessing --listen ADDR`.
fn listen_on(addr: &str) -> Vec<&str> {
    let mut args = serve_args("multiprocessing", &[]);
    args.retain(|a| *a != "127.0.0.1:0");
    args.push(addr);
    args
}

#[test]
fn a_stale_socket_is_replaced_and_other_files_are_left_alone() {
    // A socket file nobody listens on any more.
    let path = SocketPath::new("stale");
    drop(std::os::unix::net::UnixListener::bind(&path.0).unwrap());
    assert!(path.is_socket());
    let serve = serve("multiprocessing", &path);
    let r = run(
        &connect_args("multiprocessing", &path.addr(), "fresh", &[]),
        Some(KEY),
    );
    assert_eq!((r.code, r.stdout()), (Some(0), "fresh\n"), "{r:?}");
    // A second server on the same live socket is refused, and the live
    // socket stays.
    let addr = path.addr();
    let second = run(&listen_on(&addr), Some(KEY));
    assert_eq!(second.code, Some(1), "{second:?}");
    assert!(
        second
            .stderr
            .contains("another server is listening on this socket"),
        "{second:?}"
    );
    assert!(path.is_socket());
    drop(serve);

    // A regular file is not replaced.
    let file = SocketPath::new("regular");
    fs::write(&file.0, "data").unwrap();
    let addr = file.addr();
    let r = run(&listen_on(&addr), Some(KEY));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("the path exists and is not a socket"),
        "{r:?}"
    );
    assert_eq!(fs::read_to_string(&file.0).unwrap(), "data");
}

/// The multiprocessing challenge over a Unix socket: length prefix,
/// `#CHALLENGE#{sha256}`, 40 random bytes.
const CHALLENGE_LEN: usize = 4 + 11 + 8 + 40;

/// Every local client of one user is one uid: a burst of them (a
/// multiprocessing pool) used to be refused past --max-pending-per-peer.
/// Unix socket peers are bounded only by --max-pending: 100 clients of one
/// user, under a per-peer bound of 2, all get their challenge.
#[test]
fn a_burst_of_local_clients_is_not_bounded_per_peer() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    let path = SocketPath::new("burst");
    let addr = path.addr();
    let serve = Serve::start(
        &[
            "--profile",
            "multiprocessing",
            "--listen",
            &addr,
            "--max-pending-per-peer",
            "2",
        ],
        Some(KEY),
    );
    let mut clients = Vec::new();
    for _ in 0..100 {
        let stream = UnixStream::connect(&path.0).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        clients.push(stream);
    }
    for (i, stream) in clients.iter_mut().enumerate() {
        let mut challenge = [0u8; CHALLENGE_LEN];
        stream
            .read_exact(&mut challenge)
            .unwrap_or_else(|e| panic!("client {i} got no challenge: {e}"));
        assert_eq!(&challenge[4..15], b"#CHALLENGE#", "client {i}");
    }
    // And a good client is served beside them.
    let r = run(
        &connect_args("multiprocessing", &addr, "pool", &[]),
        Some(KEY),
    );
    assert_eq!((r.code, r.stdout()), (Some(0), "pool\n"), "{r:?}");
    let (line, skipped) = serve.until(|l| l.starts_with("accepted "));
    assert_eq!(accepted_unix(&line), "digest=sha256");
    assert!(skipped.is_empty(), "{skipped:?}");
}
