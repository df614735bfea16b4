#![cfg(feature = "cli")]
//! `serve` keeps serving when what is around it misbehaves: a stdout
//! nobody reads (its lines are queued for a writer thread of their own,
//! and dropped with a count when the queue is full), and clients that
//! announce large messages all at once (their payloads stay within
//! `--max-buffered`, lengths over `--max-message` are refused). Loopback
//! only, every wait bounded.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes};
use hmac_handshake::multiprocessing::FrameHeader;
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

/// A multiprocessing client authenticated to `serve`, every read and
/// write bounded by `within`; the stream and the bytes read past the
/// handshake.
fn authenticated(serve: &Serve, within: Duration) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&serve.tcp_addr(), within).expect("connect");
    stream.set_read_timeout(Some(within)).unwrap();
    stream.set_write_timeout(Some(within)).unwrap();
    let key = Key::new(KEY.as_bytes());
    let auth = client_authenticate(&mut stream, &key, multiprocessing::Config::new())
        .expect("authenticate");
    let leftover = auth.into_parts().1.leftover;
    (stream, leftover)
}

/// A multiprocessing client authenticates and echoes `message`, every
/// read and write bounded by `within`.
fn echo(serve: &Serve, message: &[u8], within: Duration) {
    let (mut stream, mut pending) = authenticated(serve, within);
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

const MIB: u64 = 1 << 20;

/// The resident memory of process `pid` (`VmRSS`), in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix(" kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"));
    kib * 1024
}

/// Twelve authenticated clients each announce a 16 MiB message and send
/// all of it but its last byte: without a budget the server held them all
/// (192 MiB); with `--max-buffered 64 MiB` its memory grows by no more
/// than that and a margin, while a small echo is served at once.
#[test]
fn large_messages_announced_at_once_stay_within_max_buffered() {
    let budget = 64 * MIB;
    let serve = Serve::start(
        &[
            "--profile",
            "multiprocessing",
            "--listen",
            "127.0.0.1:0",
            "--max-buffered",
            &budget.to_string(),
            "--idle-timeout",
            "5",
        ],
        Some(KEY),
    );
    let clients: Vec<_> = (0..12)
        .map(|_| authenticated(&serve, Duration::from_secs(3)).0)
        .collect();
    let before = rss(serve.pid());
    let senders: Vec<_> = clients
        .into_iter()
        .map(|mut stream| {
            std::thread::spawn(move || {
                // Those that get no room are not read: their writes time out.
                let _ = stream.write_all(FrameHeader::new(16 * MIB).as_bytes());
                let chunk = vec![7u8; MIB as usize];
                for i in 0..16 {
                    let part = if i == 15 { &chunk[1..] } else { &chunk[..] };
                    if stream.write_all(part).is_err() {
                        break;
                    }
                }
                stream
            })
        })
        .collect();
    let mut peak = before;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        peak = peak.max(rss(serve.pid()));
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    echo(&serve, b"small", Duration::from_secs(2));
    let took = started.elapsed();
    peak = peak.max(rss(serve.pid()));
    let grew = peak.saturating_sub(before);
    println!(
        "VmRSS {} MiB before, peak {} MiB: grew {} MiB under a {} MiB budget; small echo in \
         {took:?}",
        before / MIB,
        peak / MIB,
        grew / MIB,
        budget / MIB
    );
    assert!(
        took < Duration::from_secs(1),
        "the small echo took {took:?}"
    );
    assert!(grew <= budget + 16 * MIB, "grew {} MiB", grew / MIB);
    // The budget was used: the messages with room were read.
    assert!(grew >= budget / 2, "grew only {} MiB", grew / MIB);
    for sender in senders {
        drop(sender.join().unwrap());
    }
}

/// Reads until the server closes: `true` at EOF or a reset, `false` when
/// bytes came instead.
fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
    }
}

/// Waits for `want` on `serve`'s stderr, within [`WAIT`].
#[track_caller]
fn on_stderr(serve: &Serve, want: &str) {
    let start = Instant::now();
    while !serve.stderr().contains(want) {
        assert!(
            start.elapsed() < WAIT,
            "no {want:?} in {:?}",
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A length over `--max-message` or `--max-buffered` closes the connection
/// before its payload, with a line; up to them, messages are echoed; one
/// that finds no room within `--idle-timeout` is closed too.
#[test]
fn lengths_over_max_message_or_max_buffered_are_refused_with_a_line() {
    let serve = Serve::start(
        &[
            "--profile",
            "multiprocessing",
            "--listen",
            "127.0.0.1:0",
            "--max-message",
            "100000",
            "--max-buffered",
            "50000",
            "--idle-timeout",
            "1",
        ],
        Some(KEY),
    );
    for len in [0, 16 * 1024, 16 * 1024 + 1, 50_000] {
        echo(&serve, &vec![b'x'; len], WAIT);
    }
    for (len, over) in [
        (50_001, "--max-buffered 50000"),
        (100_001, "--max-message 100000"),
    ] {
        let (mut stream, _) = authenticated(&serve, WAIT);
        let peer = stream.local_addr().unwrap();
        stream.write_all(FrameHeader::new(len).as_bytes()).unwrap();
        assert!(closed(&mut stream), "{len}: not closed");
        on_stderr(
            &serve,
            &format!("{peer}: closed: a message of {len} bytes, over {over}\n"),
        );
    }
    // 40,000 bytes held (all but one sent), another 40,000 finds no room.
    // The idle clock of each starts once it is authenticated: the starved
    // one's first, so it runs out while the holder still holds.
    let (mut starved, _) = authenticated(&serve, WAIT);
    let peer = starved.local_addr().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (mut holder, _) = authenticated(&serve, WAIT);
    holder
        .write_all(FrameHeader::new(40_000).as_bytes())
        .unwrap();
    holder.write_all(&[b'h'; 39_999]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    starved
        .write_all(FrameHeader::new(40_000).as_bytes())
        .unwrap();
    let start = Instant::now();
    assert!(closed(&mut starved), "not closed");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    on_stderr(
        &serve,
        &format!(
            "{peer}: closed: a message of 40000 bytes found no room in --max-buffered 50000 \
             within 1s (--idle-timeout)\n"
        ),
    );
    drop(holder);
}

/// Frames sent in one write (small, large, empty, one in the 12-byte
/// prefix form) are echoed each in turn, whole and in order.
#[test]
fn pipelined_frames_are_echoed_in_order() {
    let serve = Serve::start(
        &["--profile", "multiprocessing", "--listen", "127.0.0.1:0"],
        Some(KEY),
    );
    let (mut stream, mut pending) = authenticated(&serve, WAIT);
    let large: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let payloads = [b"a".as_slice(), &large, b"", b"hello"];
    let mut wire = Vec::new();
    for payload in &payloads[..3] {
        wire.extend_from_slice(FrameHeader::new(payload.len() as u64).as_bytes());
        wire.extend_from_slice(payload);
    }
    wire.extend_from_slice(&(-1i32).to_be_bytes());
    wire.extend_from_slice(&5u64.to_be_bytes());
    wire.extend_from_slice(b"hello");
    stream.write_all(&wire).unwrap();
    for payload in payloads {
        let reply = recv_bytes(&mut stream, &mut pending, 1 << 20).unwrap();
        assert_eq!(reply.as_deref(), Some(payload));
    }
}
