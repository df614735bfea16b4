#![cfg(feature = "cli")]
//! `connect` judges the reply and tells an operator what is wrong (issue
//! 12, CLI fixes): a multiprocessing or native reply that is not our
//! message exits 1 (the help promises it; it exited 0), a multiprocessing
//! manager is named as one instead of having its pickled traceback dumped,
//! a server of another protocol is named (its first bytes were reported as
//! a message length: 1213024339 for `HMHS`), a recipe server that waits
//! for a longer tag is said to be one (the echo was blamed), and with
//! stderr closed `connect` still exits with its own status (it panicked,
//! 101).
//! The peers are CPython 3.13's own `multiprocessing.managers.BaseManager`
//! and a `Listener` that answers with other bytes.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::process::Stdio;

use kit::cpython;
use support::cli::{connect_args, run, speaks_first, Server};
use support::process::{self, WAIT};

const KEY: &str = "abracadabra";
/// A key long enough for the native profile (16 bytes at least).
const KEY_16: &str = "abracadabra-abracadabra";

/// `python -c MANAGER`: a `BaseManager` on 127.0.0.1, a free port, printed
/// once it serves; it serves until killed.
const MANAGER: &str = r#"
from multiprocessing.managers import BaseManager
manager = BaseManager(address=("127.0.0.1", 0), authkey=KEY)
server = manager.get_server()
print(server.address[1], flush=True)
server.serve_forever()
"#;

/// `python -c OTHER`: a `Listener` on 127.0.0.1 that answers one message
/// with `b"not your message"`.
const OTHER: &str = r#"
with Listener(("127.0.0.1", 0), authkey=KEY) as listener:
    print(listener.address[1], flush=True)
    with listener.accept() as conn:
        conn.recv_bytes()
        conn.send_bytes(b"not your message")
"#;

/// Starts `script`, reads the port it prints, and runs `connect --profile
/// multiprocessing 127.0.0.1:PORT --message hello`.
fn connect_to(py: &std::path::PathBuf, script: &str) -> support::cli::Run {
    let peer = cpython::PyChild::start(py, script, &[], KEY);
    let port = peer.lines.recv_timeout(WAIT).expect("the peer's port");
    let addr = format!("127.0.0.1:{port}");
    let r = run(
        &connect_args("multiprocessing", &addr, "hello", &[]),
        Some(KEY),
    );
    drop(peer);
    r
}

#[test]
fn a_manager_is_named_not_dumped() {
    let Some(py) = cpython::python313("a_manager_is_named_not_dumped") else {
        return;
    };
    let r = connect_to(&py, MANAGER);
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the peer is a multiprocessing manager: it accepted our key, then answered our \
         message with a pickled #TRACEBACK reply, since a manager takes pickled requests, not \
         messages to echo (connect talks to echo servers: `hmac-handshake serve`, or a \
         Listener that echoes)\n",
        "{r:?}"
    );
}

#[test]
fn a_reply_that_is_not_our_message_exits_1() {
    let Some(py) = cpython::python313("a_reply_that_is_not_our_message_exits_1") else {
        return;
    };
    let r = connect_to(&py, OTHER);
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the server's reply is not our message: not an echo server of this profile? \
         (a 16-byte reply, starting \"not your message\")\n",
        "{r:?}"
    );
}

/// With stderr a pipe nobody reads any more, `connect` to a closed port
/// exits 1 (connection refused), not 101 (a panic in `eprintln!`).
#[test]
fn a_closed_stderr_does_not_panic() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let args = connect_args("multiprocessing", &addr, "hello", &[]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hmac-handshake"));
    cmd.args(&args)
        .env("HMAC_HANDSHAKE_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = process::KillOnDrop(cmd.spawn().expect("spawn"));
    // The read end goes away before the binary writes its error.
    drop(child.0.stderr.take());
    let status = process::wait_within(&mut child.0, WAIT)
        .expect("try_wait")
        .expect("connect finishes");
    assert_eq!(status.code(), Some(1), "{status:?}");
}

/// `python -c BIG`: a `Listener` that answers one message with 17 MiB.
const BIG: &str = r#"
with Listener(("127.0.0.1", 0), authkey=KEY) as listener:
    print(listener.address[1], flush=True)
    with listener.accept() as conn:
        conn.recv_bytes()
        try:
            conn.send_bytes(bytes(17 << 20))
        except OSError:
            pass
"#;

/// A reply over 16 MiB is said to be one (it was "the peer is not speaking
/// this protocol").
#[test]
fn a_reply_over_the_limit_is_said_to_be_one() {
    let Some(py) = cpython::python313("a_reply_over_the_limit_is_said_to_be_one") else {
        return;
    };
    let r = connect_to(&py, BIG);
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the reply's length prefix says 17825792 bytes, over connect's limit of \
         16777216 (16 MiB, serve's default --max-message): not an echo of our message\n",
        "{r:?}"
    );
}

/// `connect --profile multiprocessing` to a native `serve` and to a server
/// that answers in HTTP: each named, exit 1.
#[test]
fn a_server_of_another_protocol_is_named() {
    let native = Server::spawn("native", &[], Some(KEY_16));
    let r = run(
        &connect_args("multiprocessing", &native.port(), "hello", &[]),
        Some(KEY_16),
    );
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the server speaks the native protocol: its first bytes, \"HMHS\", are what this \
         profile reads as a message length (1213024339); use --profile native\n",
        "{r:?}"
    );

    let (addr, server) = speaks_first(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let r = run(
        &connect_args("multiprocessing", &addr, "hello", &[]),
        Some(KEY),
    );
    server.join().unwrap();
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the server speaks HTTP: its first bytes, \"HTTP\", are what this profile reads \
         as a message length (1213486160); check the address and port\n",
        "{r:?}"
    );
}

/// A recipe client with HMAC-MD5 (16-byte tags) against a SHA-256 recipe
/// server (32): the server takes our message for the rest of our tag and
/// waits; `connect` says so at its timeout.
#[test]
fn a_recipe_server_waiting_for_a_longer_tag_is_said_to_be_one() {
    let server = Server::spawn("recipe", &[], Some(KEY));
    let r = run(
        &connect_args(
            "recipe",
            &server.port(),
            "hello",
            &["--digest", "md5", "--timeout", "1"],
        ),
        Some(KEY),
    );
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: no echo within --timeout: a recipe server that expects a longer tag than ours \
         (another --digest; MD5 tags are 16 bytes, SHA-256 32) may still be reading it; check \
         --digest on both sides\n",
        "{r:?}"
    );
}

/// A server that accepts and says nothing (CPython's `Listener` without an
/// authkey waits for the client): the timeout, and a hint that it may not
/// require authentication.
#[test]
fn a_silent_server_gets_a_hint() {
    let Some(py) = cpython::python313("a_silent_server_gets_a_hint") else {
        return;
    };
    let script = r#"
with Listener(("127.0.0.1", 0)) as listener:
    print(listener.address[1], flush=True)
    with listener.accept() as conn:
        conn.poll(30)
"#;
    let peer = cpython::PyChild::start(&py, script, &[], KEY);
    let port = peer.lines.recv_timeout(WAIT).expect("the peer's port");
    let addr = format!("127.0.0.1:{port}");
    let r = run(
        &connect_args("multiprocessing", &addr, "hello", &["--timeout", "0.5"]),
        Some(KEY),
    );
    drop(peer);
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the handshake did not finish in time (the peer is silent or slow): --timeout \
         0.5s\nhint: if the server sent nothing at all, it may not require authentication (a \
         multiprocessing Listener or Client without authkey), or expect the client to speak \
         first (HTTP, TLS, a database)\n",
        "{r:?}"
    );
}
