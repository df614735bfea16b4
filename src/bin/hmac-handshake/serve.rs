//! `serve`: accept connections, authenticate each on its own thread, echo.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    recv_bytes, send_bytes, server_authenticate, server_authenticate_native, AuthError,
    Authenticated,
};
use hmac_handshake::native::{NativeKey, ServerConfig, Suite};
use hmac_handshake::{Key, Profile};

use crate::args::ServeArgs;
use crate::deadline::Deadline;
use crate::failure::Failure;
use crate::profile::{self, ProfileName, Wire};
use crate::{key, keyring};

/// Largest multiprocessing message the server echoes, in bytes.
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every connection thread shares.
struct Shared {
    keys: Keys,
    timeout: Duration,
}

/// The keys and settings the handshake uses.
enum Keys {
    /// Recipe or multiprocessing: one shared key (boxed: its keyed hash
    /// states are large).
    Legacy { key: Box<Key>, profile: Profile },
    /// Native: the keyring (one key or more), the suite and the context.
    Native {
        keyring: Vec<NativeKey>,
        suite: Suite,
        context: Vec<u8>,
    },
}

/// Runs the server until the process is stopped.
///
/// # Errors
/// Bad options, no key, or an address that cannot be bound.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    let common = &args.common;
    let wire = profile::wire(common)?;
    if args.keyring.is_some() && common.profile != ProfileName::Native {
        return Err(Failure::Other("--keyring needs --profile native".into()));
    }
    if args.max_connections == 0 {
        return Err(Failure::Other(
            "--max-connections must be at least 1".into(),
        ));
    }
    let keys = match wire {
        Wire::Legacy(profile) => Keys::Legacy {
            key: Box::new(key::load(common.key_file.as_deref())?),
            profile,
        },
        Wire::Native(options) => Keys::Native {
            keyring: match &args.keyring {
                Some(path) => keyring::load(path)?,
                None => vec![key::load_native(
                    common.key_file.as_deref(),
                    &options.key_id,
                )?],
            },
            suite: options.suite.unwrap_or(Suite::HmacSha256),
            context: options.context,
        },
    };
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    // On stdout only, so that `2>&1` shows it once.
    line(&format!("listening on {local}"));

    let shared = Arc::new(Shared {
        keys,
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
            .spawn(move || handle(&stream, peer, &shared, slot));
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

/// Serves one connection; `slot` is given back when it ends.
fn handle(stream: &TcpStream, peer: SocketAddr, shared: &Shared, slot: Slot) {
    let _ = stream.set_nodelay(true);
    let mut deadline = Deadline::new(stream, shared.timeout);
    let result = match &shared.keys {
        Keys::Legacy { key, profile } => server_authenticate(&mut deadline, key, *profile),
        Keys::Native {
            keyring,
            suite,
            context,
        } => server_authenticate_native(
            &mut deadline,
            keyring,
            ServerConfig {
                suite: *suite,
                context,
            },
        ),
    };
    let auth = match result {
        Ok(auth) => auth,
        Err(e) => {
            let _ = stream.shutdown(Shutdown::Both);
            // Free the slot before the line, so that whoever reacts to the
            // line finds it free.
            drop(slot);
            line(&format!("rejected {peer}: {}", reason(&e, shared.timeout)));
            return;
        }
    };
    match &auth.session {
        Some(session) => line(&format!(
            "accepted {peer} digest={} key_id={}",
            auth.outcome.digest,
            session.key_id()
        )),
        None => line(&format!("accepted {peer} digest={}", auth.outcome.digest)),
    }
    // Authenticated peers may idle; a peer that stops reading our echo is
    // still cut off by the write timeout.
    let relaxed = stream
        .set_read_timeout(None)
        .and_then(|()| stream.set_write_timeout(Some(shared.timeout)));
    let echoed = relaxed.and_then(|()| match &shared.keys {
        Keys::Legacy {
            profile: Profile::Recipe(_),
            ..
        } => echo_raw(stream, auth),
        Keys::Legacy { .. } | Keys::Native { .. } => echo_frames(stream, auth),
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

/// Multiprocessing and native: `recv_bytes` then `send_bytes` of the same payload,
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
