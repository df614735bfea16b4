//! `serve`: accept connections, authenticate each on its own thread, echo.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    recv_bytes, send_bytes, server_authenticate, AuthError, Authenticated,
};
use hmac_handshake::{Key, Profile};

use crate::args::ServeArgs;
use crate::deadline::Deadline;
use crate::failure::Failure;
use crate::key;
use crate::profile::ProfileName;

/// Largest multiprocessing message the server echoes, in bytes.
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every connection thread shares.
struct Shared {
    key: Key,
    name: ProfileName,
    profile: Profile,
    timeout: Duration,
}

/// Runs the server until the process is stopped.
///
/// # Errors
/// Bad options, no key, or an address that cannot be bound.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    let common = &args.common;
    let profile = common.profile.build(common.digest, common.allow_md5)?;
    if args.max_connections == 0 {
        return Err(Failure::Other(
            "--max-connections must be at least 1".into(),
        ));
    }
    let key = key::load(common.key_file.as_deref())?;
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    eprintln!("listening on {local}");
    line(&format!("listening on {local}"));

    let shared = Arc::new(Shared {
        key,
        name: common.profile,
        profile,
        timeout: common.timeout,
    });
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        // Only this loop increments, so the check and the increment agree.
        if active.load(Ordering::SeqCst) >= args.max_connections {
            line(&format!(
                "rejected {peer}: too many concurrent connections (limit {})",
                args.max_connections
            ));
            drop(stream);
            continue;
        }
        let slot = Slot::take(&active);
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("conn {peer}"))
            .spawn(move || {
                let _slot = slot;
                handle(&stream, peer, &shared);
            });
        if let Err(e) = spawned {
            line(&format!("rejected {peer}: cannot start a thread: {e}"));
        }
    }
}

/// One of the `--max-connections` places, given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Slot {
        active.fetch_add(1, Ordering::SeqCst);
        Slot(Arc::clone(active))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Writes one whole line on stdout and flushes it (errors are ignored: a
/// closed stdout must not stop the server).
fn line(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

fn handle(stream: &TcpStream, peer: SocketAddr, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let result = server_authenticate(
        &mut Deadline::new(stream, shared.timeout),
        &shared.key,
        shared.profile,
    );
    let auth = match result {
        Ok(auth) => auth,
        Err(e) => {
            line(&format!("rejected {peer}: {}", reason(&e, shared.timeout)));
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    };
    line(&format!("accepted {peer} digest={}", auth.outcome.digest));
    // Authenticated peers may idle; a peer that stops reading our echo is
    // still cut off by the write timeout.
    let relaxed = stream
        .set_read_timeout(None)
        .and_then(|()| stream.set_write_timeout(Some(shared.timeout)));
    let echoed = relaxed.and_then(|()| match shared.name {
        ProfileName::Recipe => echo_raw(stream, auth),
        ProfileName::Multiprocessing => echo_frames(stream, auth),
    });
    if let Err(e) = echoed {
        eprintln!("{peer}: echo ended: {e}");
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Why the handshake with a client failed, as the server sees it.
fn reason(e: &AuthError, timeout: Duration) -> String {
    match e {
        AuthError::Timeout => format!(
            "handshake timed out after {}s: the client was silent or too slow",
            timeout.as_secs_f64()
        ),
        AuthError::Closed => "the client closed the connection during the handshake".into(),
        other => other.to_string(),
    }
}

/// Recipe: echo raw bytes, the handshake's leftover first, until EOF.
fn echo_raw(stream: &TcpStream, auth: Authenticated) -> io::Result<()> {
    let mut reader = stream;
    let mut writer = stream;
    writer.write_all(&auth.leftover)?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
    }
}

/// Multiprocessing: `recv_bytes` then `send_bytes` of the same payload,
/// until a clean EOF between messages.
fn echo_frames(stream: &TcpStream, auth: Authenticated) -> io::Result<()> {
    let mut reader = stream;
    let mut writer = stream;
    let mut pending = auth.leftover;
    while let Some(message) = recv_bytes(&mut reader, &mut pending, MAX_MESSAGE)? {
        send_bytes(&mut writer, &message)?;
    }
    Ok(())
}
