#![cfg(feature = "cli")]
//! How `serve` ends authenticated connections: one that completes no
//! message for `--idle-timeout` is closed (half a frame included) while
//! others keep working; on SIGTERM it stops accepting, lets the message in
//! progress be echoed, closes the rest and exits 0; a second signal
//! meanwhile stops it at once. Loopback only, every wait bounded.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes};
use hmac_handshake::{multiprocessing, Key};
use kit::serve_proc::Serve;
use support::process::WAIT;

const KEY: &str = "idle and shutdown key";

/// A multiprocessing client authenticated to `serve`, every read and write
/// bounded by [`WAIT`]; returns the stream and the bytes read past the
/// handshake.
fn authenticated(serve: &Serve) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(serve.tcp_addr()).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    let key = Key::new(KEY.as_bytes());
    let auth = client_authenticate(&mut stream, &key, multiprocessing::Config::new())
        .expect("authenticate");
    let leftover = auth.into_parts().1.leftover;
    assert!(serve.next_line().starts_with("accepted 127.0.0.1:"));
    (stream, leftover)
}

/// Reads until the server closes; `Ok(bytes read)` at EOF (a reset counts
/// as a close with nothing more read).
fn until_closed(stream: &mut TcpStream) -> Result<usize, std::io::Error> {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(0),
        Err(e) => Err(e),
    }
}

#[test]
fn half_a_frame_is_cut_at_the_idle_timeout_while_another_client_works() {
    let serve = Serve::start(
        &[
            "--profile",
            "multiprocessing",
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout",
            "1",
            "--timeout",
            "5",
        ],
        Some(KEY),
    );
    let (mut stalled, _) = authenticated(&serve);
    let (mut busy, mut pending) = authenticated(&serve);
    let stalled_addr = stalled.local_addr().unwrap();
    // A frame announcing 1000 bytes, 3 of them, then nothing.
    stalled.write_all(&1000i32.to_be_bytes()).unwrap();
    stalled.write_all(b"abc").unwrap();
    let start = Instant::now();
    let worker = thread::spawn(move || {
        // A message every 200 ms for 2.4 s: never idle for 1 s.
        for i in 0..12 {
            let message = format!("message {i}");
            send_bytes(&mut busy, message.as_bytes()).unwrap();
            let reply = recv_bytes(&mut busy, &mut pending, 1 << 20).unwrap();
            assert_eq!(reply.as_deref(), Some(message.as_bytes()));
            thread::sleep(Duration::from_millis(200));
        }
        busy
    });
    assert_eq!(
        until_closed(&mut stalled).expect("closed, not timed out"),
        0
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "cut after {took:?}"
    );
    let mut busy = worker.join().expect("the busy client kept working");
    // Still open after the stalled one was cut.
    send_bytes(&mut busy, b"still here").unwrap();
    assert_eq!(
        recv_bytes(&mut busy, &mut Vec::new(), 1 << 20).unwrap(),
        Some(b"still here".to_vec())
    );
    let want = format!("{stalled_addr}: closed: no message for 1s (--idle-timeout)");
    assert!(
        serve.stderr().contains(&want),
        "stderr {:?}",
        serve.stderr()
    );
}

/// `serve --profile multiprocessing` with `--timeout SECONDS`: also the
/// grace at a stop.
fn with_grace(seconds: &str) -> Serve {
    Serve::start(
        &[
            "--profile",
            "multiprocessing",
            "--listen",
            "127.0.0.1:0",
            "--timeout",
            seconds,
        ],
        Some(KEY),
    )
}

#[test]
fn sigterm_lets_the_echo_in_progress_finish_then_exits_0() {
    let mut serve = with_grace("5");
    let (mut mid, mut pending) = authenticated(&serve);
    let (mut idle, _) = authenticated(&serve);
    // Half of a 10-byte message.
    mid.write_all(&10i32.to_be_bytes()).unwrap();
    mid.write_all(b"01234").unwrap();
    // Let the server read it before the signal.
    thread::sleep(Duration::from_millis(200));
    serve.signal("TERM");
    let line = serve.next_line();
    assert_eq!(
        line,
        "shutting down: SIGTERM: not accepting; 0 handshakes and 2 connections in progress get \
         up to 5s"
    );
    // No longer accepting.
    let refused = TcpStream::connect_timeout(&serve.tcp_addr(), WAIT);
    assert!(refused.is_err(), "a connection after SIGTERM: {refused:?}");
    // The idle connection is closed; the one mid-message is not.
    assert_eq!(until_closed(&mut idle).expect("idle closed"), 0);
    mid.write_all(b"56789").unwrap();
    let reply = recv_bytes(&mut mid, &mut pending, 1 << 20).unwrap();
    assert_eq!(reply.as_deref(), Some(b"0123456789".as_slice()));
    // Then it is closed at the message boundary, and the server exits 0.
    assert_eq!(until_closed(&mut mid).expect("closed after the echo"), 0);
    let status = serve.exit_within(WAIT);
    assert_eq!(status.code(), Some(0), "stderr {}", serve.stderr());
    assert_eq!(serve.next_line(), "stopped");
}

/// A second signal during the shutdown grace used to be ignored: the server
/// waited out the whole grace (here 30 s). Now it stops at once, says how
/// many connections it cut, and exits 0.
#[test]
fn a_second_signal_during_the_grace_stops_at_once() {
    let mut serve = with_grace("30");
    let (mut mid, _) = authenticated(&serve);
    // Half of a 10-byte message: the echo in progress holds the grace.
    mid.write_all(&10i32.to_be_bytes()).unwrap();
    mid.write_all(b"01234").unwrap();
    thread::sleep(Duration::from_millis(200));
    serve.signal("TERM");
    assert_eq!(
        serve.next_line(),
        "shutting down: SIGTERM: not accepting; 0 handshakes and 1 connections in progress get \
         up to 30s"
    );
    let start = Instant::now();
    serve.signal("INT");
    let status = serve.exit_within(Duration::from_secs(3));
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0), "stderr {}", serve.stderr());
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    assert_eq!(
        serve.next_line(),
        "stopped: second signal, 1 connections cut"
    );
    assert_eq!(until_closed(&mut mid).expect("cut"), 0);
}
