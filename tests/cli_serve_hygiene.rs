#![cfg(feature = "cli")]
//! `serve` keeps serving when what is around it misbehaves: a stdout
//! nobody reads (its lines are queued for a writer thread of their own,
//! and dropped with a count when the queue is full). Loopback only, every
//! wait bounded.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes};
use hmac_handshake::{multiprocessing, Key};
use kit::serve_proc::Serve;
use support::process::WAIT;

const KEY: &str = "hygiene test key";

/// Connections opened and closed at once: a `rejected` line each, far
/// more than a pipe (64 KiB, some 700 lines) and the queue (4096 lines)
/// hold together.
const CLOSED_AT_ONCE: usize = 6000;

/// `serve --profile multiprocessing --listen 127.0.0.1:0 EXTRA...`, its
/// stdout unread after `listening on` until the sender is sent `()`.
fn stalled(extra: &[&str]) -> (Serve, std::sync::mpsc::Sender<()>) {
    let mut args = vec!["--profile", "multiprocessing", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Serve::start_stalled(&args, Some(KEY))
}

/// A multiprocessing client authenticates and echoes `message`, every
/// read and write bounded by `within`.
fn echo(serve: &Serve, message: &[u8], within: Duration) {
    let mut stream = TcpStream::connect_timeout(&serve.tcp_addr(), within).expect("connect");
    stream.set_read_timeout(Some(within)).unwrap();
    stream.set_write_timeout(Some(within)).unwrap();
    let key = Key::new(KEY.as_bytes());
    let auth = client_authenticate(&mut stream, &key, multiprocessing::Config::new())
        .expect("authenticate");
    let mut pending = auth.into_parts().1.leftover;
    send_bytes(&mut stream, message).unwrap();
    let reply = recv_bytes(&mut stream, &mut pending, 1 << 20).unwrap();
    assert_eq!(reply.as_deref(), Some(message));
}

/// The `N` of a `dropped N log lines (stdout was not keeping up)` line.
fn dropped(line: &str) -> Option<usize> {
    line.strip_prefix("dropped ")?
        .strip_suffix(" log lines (stdout was not keeping up)")?
        .parse()
        .ok()
}

/// With stdout a full pipe, the lines used to be written from the runtime's
/// workers, which all blocked: good clients hung. Now a good client is
/// served at once, the lines that did not fit are counted, and once stdout
/// is read again every line is there or counted, in order, `stopped` last.
#[test]
fn a_stdout_nobody_reads_holds_up_no_client_and_dropped_lines_are_counted() {
    let (mut serve, go) = stalled(&[]);
    let start = Instant::now();
    for _ in 0..CLOSED_AT_ONCE {
        drop(TcpStream::connect_timeout(&serve.tcp_addr(), WAIT).expect("connect"));
    }
    println!(
        "{CLOSED_AT_ONCE} connections opened and closed in {:?}",
        start.elapsed()
    );
    // Let the server see every close (and write, or drop, its lines).
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    echo(&serve, b"served all the same", Duration::from_secs(2));
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "the good client took {took:?}"
    );

    go.send(()).unwrap();
    // Let the writer catch up with what it queued, then stop.
    std::thread::sleep(Duration::from_millis(500));
    serve.signal("TERM");
    assert_eq!(
        serve.exit_within(WAIT).code(),
        Some(0),
        "{}",
        serve.stderr()
    );
    let mut lines = Vec::new();
    while let Some(line) = serve.line_within(Duration::from_secs(1)) {
        lines.push(line);
    }
    let rejected = lines.iter().filter(|l| l.starts_with("rejected ")).count();
    let accepted = lines.iter().filter(|l| l.starts_with("accepted ")).count();
    let counted: usize = lines.iter().filter_map(|l| dropped(l)).sum();
    println!("{rejected} rejected and {accepted} accepted lines written, {counted} dropped");
    assert!(counted > 0, "nothing dropped: {} lines", lines.len());
    assert_eq!(rejected + accepted + counted, CLOSED_AT_ONCE + 1);
    assert_eq!(lines.last().map(String::as_str), Some("stopped"));
    let shutting = lines.len() - 2;
    assert!(
        lines[shutting].starts_with("shutting down: SIGTERM"),
        "{:?}",
        &lines[shutting..]
    );
}
