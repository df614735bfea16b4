#![cfg(feature = "cli")]
//! `serve --profile native --keyring FILE` reloads its keys: when a new
//! file is renamed over the old (as Kubernetes updates a mounted secret),
//! and on SIGHUP. A new key works within 2 s, a removed key is refused, a
//! handshake in progress finishes with the ring it started with, a broken
//! file is refused with an error and the old keys stay, and a key on both
//! rings never fails while the ring is replaced again and again. Loopback
//! only, every wait bounded.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes, AuthError};
use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::Error;
use kit::serve_proc::Serve;
use support::cli::write_private;
use support::process::WAIT;

/// The keys, each 32 bytes.
const K1: [u8; 32] = [1; 32];
const K2: [u8; 32] = [2; 32];
const K3: [u8; 32] = [3; 32];
const K4: [u8; 32] = [4; 32];

/// How long a new key may take to work.
const RELOAD_WITHIN: Duration = Duration::from_secs(2);

/// A keyring file in the test target directory, removed on drop.
struct Ring(PathBuf);

impl Ring {
    fn new(name: &str, keys: &[(&str, &[u8; 32])]) -> Ring {
        let dir = env!("CARGO_TARGET_TMPDIR");
        let ring = Ring(PathBuf::from(format!(
            "{dir}/serve-reload-{}-{name}",
            std::process::id()
        )));
        write_private(&ring.0, text(keys));
        ring
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Writes `contents` beside the file, then renames it over the file.
    fn replace_with(&self, contents: &str) {
        let next = self.0.with_extension("next");
        write_private(&next, contents);
        fs::rename(&next, &self.0).unwrap();
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A keyring's text.
fn text(keys: &[(&str, &[u8; 32])]) -> String {
    keys.iter()
        .map(|(id, key)| format!("{id} {}\n", hex::encode(key)))
        .collect()
}

fn serve(ring: &Ring) -> Serve {
    Serve::start(
        &[
            "--profile",
            "native",
            "--listen",
            "127.0.0.1:0",
            "--keyring",
            ring.path(),
        ],
        None,
    )
}

/// `serve --keyring KEYRING` run to its end (for one that fails at start).
fn serve_once(keyring: &str) -> support::cli::Run {
    support::cli::run(
        &[
            "serve",
            "--profile",
            "native",
            "--listen",
            "127.0.0.1:0",
            "--keyring",
            keyring,
        ],
        None,
    )
}

/// A TCP connection to `serve`, every read and write bounded.
fn dial(serve: &Serve) -> TcpStream {
    let stream = TcpStream::connect_timeout(&serve.tcp_addr(), WAIT).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// Authenticates over `stream` with `key` under `id` and echoes one
/// message; the handshake's error if it fails.
fn echo_over(stream: TcpStream, id: &str, key: &[u8; 32]) -> Result<(), AuthError> {
    let key = NativeKey::new(id.as_bytes(), key, Suite::HmacSha256).unwrap();
    let mut stream = stream;
    let auth = client_authenticate(&mut stream, key, native::Config::new(b""))?;
    let mut pending = auth.into_parts().1.leftover;
    send_bytes(&mut stream, id.as_bytes()).map_err(AuthError::from)?;
    let reply = recv_bytes(&mut stream, &mut pending, 1024).map_err(AuthError::from)?;
    assert_eq!(reply.as_deref(), Some(id.as_bytes()));
    Ok(())
}

/// [`echo_over`] a fresh connection.
fn echo(serve: &Serve, id: &str, key: &[u8; 32]) -> Result<(), AuthError> {
    echo_over(dial(serve), id, key)
}

/// `true` when `serve` rejects `id` (the native reject verdict).
fn refused(serve: &Serve, id: &str, key: &[u8; 32]) -> bool {
    matches!(
        echo(serve, id, key),
        Err(AuthError::Handshake(Error::PeerRejected))
    )
}

/// Tries `id` until it works; panics if that takes over [`RELOAD_WITHIN`].
fn works_within(serve: &Serve, id: &str, key: &[u8; 32]) -> Duration {
    let start = Instant::now();
    loop {
        if echo(serve, id, key).is_ok() {
            return start.elapsed();
        }
        assert!(start.elapsed() < RELOAD_WITHIN, "{id} still refused");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Clients of `id` in a loop until `stop`; returns (successes, failures).
fn hammer(
    serve: &Serve,
    id: &'static str,
    key: [u8; 32],
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<(u32, Vec<String>)> {
    let addr = serve.tcp_addr();
    thread::spawn(move || {
        let (mut ok, mut failed) = (0, Vec::new());
        while !stop.load(Ordering::SeqCst) {
            let stream = match TcpStream::connect_timeout(&addr, WAIT) {
                Ok(stream) => stream,
                Err(e) => {
                    failed.push(format!("connect: {e}"));
                    break;
                }
            };
            stream.set_read_timeout(Some(WAIT)).unwrap();
            stream.set_write_timeout(Some(WAIT)).unwrap();
            match echo_over(stream, id, &key) {
                Ok(()) => ok += 1,
                Err(e) => failed.push(e.to_string()),
            }
        }
        (ok, failed)
    })
}

/// Waits for a `reloaded keyring FILE: N keys` line; returns N.
#[track_caller]
fn reloaded(serve: &Serve, path: &str) -> usize {
    let prefix = format!("reloaded keyring {path}: ");
    let (line, _) = serve.until(|l| l.starts_with(&prefix));
    line[prefix.len()..]
        .strip_suffix(" keys")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"))
}

#[test]
fn a_renamed_keyring_is_picked_up_and_keys_on_both_rings_never_fail() {
    let ring = Ring::new("rename", &[("k1", &K1), ("k2", &K2)]);
    let serve = serve(&ring);
    echo(&serve, "k1", &K1).expect("k1 at start");
    assert!(refused(&serve, "k3", &K3));

    let stop = Arc::new(AtomicBool::new(false));
    let steady = hammer(&serve, "k2", K2, Arc::clone(&stop));

    // k1 out, k3 in.
    ring.replace_with(&text(&[("k2", &K2), ("k3", &K3)]));
    let took = works_within(&serve, "k3", &K3);
    assert_eq!(reloaded(&serve, ring.path()), 2);
    assert!(refused(&serve, "k1", &K1), "a removed key still works");
    println!("k3 worked {took:?} after the rename");

    // A broken file is refused; the keys stay.
    ring.replace_with("k2 zz00\n");
    let start = Instant::now();
    let want = format!(
        "error: keyring reload refused, keeping the previous 2 keys: keyring {} line 1: HEXKEY is \
         not hex",
        ring.path()
    );
    while !serve.stderr().contains(&want) {
        assert!(
            start.elapsed() < RELOAD_WITHIN,
            "stderr {:?}",
            serve.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
    echo(&serve, "k3", &K3).expect("k3 after a broken file");
    assert!(
        !serve.stderr().contains(&hex::encode(K2)),
        "a key on stderr"
    );

    // Replaced again and again, the key on every ring never fails.
    for i in 0..8 {
        let other = if i % 2 == 0 { ("k3", &K3) } else { ("k4", &K4) };
        ring.replace_with(&text(&[("k2", &K2), other]));
        works_within(&serve, other.0, other.1);
    }
    stop.store(true, Ordering::SeqCst);
    let (ok, failed) = steady.join().unwrap();
    assert!(
        failed.is_empty(),
        "k2 failed {} times: {failed:?}",
        failed.len()
    );
    assert!(ok > 10, "only {ok} k2 handshakes ran during the reloads");
    println!("k2: {ok} handshakes during 10 reloads, none failed");
}

#[test]
fn sighup_reloads_and_a_handshake_in_progress_keeps_its_ring() {
    let ring = Ring::new("sighup", &[("k1", &K1), ("k3", &K3)]);
    let serve = serve(&ring);
    // A handshake that has begun: the server sent its hello, so it holds
    // a snapshot of the ring with k1.
    let begun = dial(&serve);
    let mut hello = [0u8; 6];
    assert_eq!(begun.peek(&mut hello).unwrap(), 6);
    assert_eq!(&hello[..4], b"HMHS");

    // Rewrite the file in place, the same size and modification time, so
    // that only SIGHUP can reveal it: k1 out, k4 (same length) in.
    let meta = fs::metadata(&ring.0).unwrap();
    let modified = meta.modified().unwrap();
    let new_text = text(&[("k4", &K4), ("k3", &K3)]);
    assert_eq!(new_text.len() as u64, meta.len());
    write_in_place(&ring.0, &new_text, modified);
    thread::sleep(Duration::from_millis(600));
    assert!(refused(&serve, "k4", &K4), "reloaded without SIGHUP");

    serve.signal("HUP");
    assert_eq!(reloaded(&serve, ring.path()), 2);
    echo(&serve, "k4", &K4).expect("k4 after SIGHUP");
    assert!(refused(&serve, "k1", &K1), "k1 was removed");
    // The handshake begun before the reload finishes with k1.
    echo_over(begun, "k1", &K1).expect("the handshake in progress keeps its ring");
}

/// Overwrites `path` in place (the same inode) and puts back `modified`.
fn write_in_place(path: &Path, contents: &str, modified: std::time::SystemTime) {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file.set_modified(modified).unwrap();
}

/// Makes a FIFO at `path` (with `mkfifo`).
fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}: {status}", path.display());
}

/// How many times `needle` is on `serve`'s stderr, once it is there at
/// least `n` times (within [`RELOAD_WITHIN`]).
#[track_caller]
fn on_stderr(serve: &Serve, needle: &str, n: usize) -> usize {
    let start = Instant::now();
    loop {
        let count = serve.stderr().matches(needle).count();
        if count >= n {
            return count;
        }
        assert!(
            start.elapsed() < RELOAD_WITHIN,
            "{needle:?} {count} times; stderr {:?}",
            serve.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A FIFO swapped in for the keyring (`ln -sfn fifo l; mv -T l ring`)
/// used to hang the server on a blocking open, SIGTERM included: it is
/// refused, the old keys stay, and SIGTERM still stops the server.
#[test]
fn a_fifo_swapped_in_for_the_keyring_is_refused_and_the_server_still_stops() {
    let ring = Ring::new("fifo", &[("k1", &K1)]);
    let mut serve = serve(&ring);
    echo(&serve, "k1", &K1).expect("k1 at start");
    let fifo = ring.0.with_extension("fifo");
    mkfifo(&fifo);
    let link = ring.0.with_extension("link");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    fs::rename(&link, &ring.0).unwrap();
    let want = format!(
        "error: keyring reload refused, keeping the previous 1 keys: cannot read keyring {}: it \
         is a FIFO, not a regular file: refusing to read it\n",
        ring.path()
    );
    assert_eq!(on_stderr(&serve, &want, 1), 1);
    echo(&serve, "k1", &K1).expect("k1 after the FIFO");
    // SIGHUP reads it again: refused again.
    serve.signal("HUP");
    assert_eq!(on_stderr(&serve, &want, 2), 2);
    echo(&serve, "k1", &K1).expect("k1 after SIGHUP");
    serve.signal("TERM");
    let status = serve.exit_within(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "stderr {}", serve.stderr());
    let _ = fs::remove_file(&fifo);
}

/// A keyring that is not a regular file is refused at start, at once.
#[test]
fn a_keyring_that_is_not_a_regular_file_is_refused_at_start() {
    let ring = Ring::new("start-fifo", &[]);
    mkfifo(&ring.0);
    let dir = env!("CARGO_TARGET_TMPDIR");
    for (path, what) in [(ring.path(), "a FIFO"), (dir, "a directory")] {
        let r = serve_once(path);
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (
                Some(1),
                format!(
                    "error: cannot read keyring {path}: it is {what}, not a regular file: \
                     refusing to read it\n"
                )
                .as_str()
            )
        );
    }
}

/// The keyring cap, in bytes (64 KiB).
const KEYRING_MAX: u64 = 64 * 1024;

/// Why a keyring over [`KEYRING_MAX`] is refused.
fn too_large(path: &str) -> String {
    format!(
        "cannot read keyring {path}: it holds more than 65536 bytes (64 KiB), the most read: \
         refusing it"
    )
}

/// A huge keyring (`truncate -s 100G`) used to abort the server as it
/// reserved the file's size: refused at start, and on a reload (one byte
/// over the cap) with the old keys kept.
#[test]
fn a_keyring_over_64_kib_is_refused_at_start_and_on_reload() {
    let huge = Ring::new("huge", &[]);
    fs::File::options()
        .write(true)
        .open(&huge.0)
        .unwrap()
        .set_len(100 << 30)
        .unwrap();
    let r = serve_once(huge.path());
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            Some(1),
            format!("error: {}\n", too_large(huge.path())).as_str()
        )
    );
    drop(huge);

    let ring = Ring::new("over-cap", &[("k1", &K1)]);
    let serve = serve(&ring);
    // One byte over the cap: key lines, then comment padding.
    let mut big = text(&[("k3", &K3)]).into_bytes();
    big.resize(usize::try_from(KEYRING_MAX).unwrap() + 1, b'#');
    let next = ring.0.with_extension("next");
    write_private(&next, &big);
    fs::rename(&next, &ring.0).unwrap();
    let want = format!(
        "error: keyring reload refused, keeping the previous 1 keys: {}\n",
        too_large(ring.path())
    );
    assert_eq!(on_stderr(&serve, &want, 1), 1);
    echo(&serve, "k1", &K1).expect("k1 kept");
    assert!(refused(&serve, "k3", &K3), "k3 from a file over the cap");
    // At the cap exactly, the same file is read.
    big.truncate(usize::try_from(KEYRING_MAX).unwrap());
    ring.replace_with(std::str::from_utf8(&big).unwrap());
    assert_eq!(reloaded(&serve, ring.path()), 1);
    echo(&serve, "k3", &K3).expect("k3 from a file at the cap");
}
