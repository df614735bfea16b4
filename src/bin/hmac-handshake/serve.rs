//! `serve`: accept connections, authenticate each on its own thread, echo.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    recv_bytes, send_bytes, server_authenticate_within, AuthError, AuthStream,
};
use hmac_handshake::native::{self, Keyring, Suite};
use hmac_handshake::{multiprocessing, recipe, Error, Key};

use crate::args::ServeArgs;
use crate::failure::Failure;
use crate::profile::{self, ProfileName, Wire};
use crate::{key, keyring};

/// Largest multiprocessing message the server echoes, in bytes.
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every connection thread gets a copy of: handles to the same keys
/// (an `Arc` each, so a thread owns its handle), the settings, the deadline.
#[derive(Clone)]
struct Shared {
    keys: Keys,
    timeout: Duration,
}

/// The keys and settings the handshake uses.
#[derive(Clone)]
enum Keys {
    /// The recipe: one shared key.
    Recipe {
        key: Arc<Key>,
        config: recipe::Config,
    },
    /// Multiprocessing: one shared key.
    Multiprocessing {
        key: Arc<Key>,
        config: multiprocessing::Config,
    },
    /// Native: the keyring (one key or more, all of the one suite) and the
    /// context.
    Native {
        keyring: Arc<Keyring>,
        config: native::Config,
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
        Wire::Recipe(config) => Keys::Recipe {
            key: Arc::new(key::load(common.key_file.as_deref())?),
            config,
        },
        Wire::Multiprocessing(config) => Keys::Multiprocessing {
            key: Arc::new(key::load(common.key_file.as_deref())?),
            config,
        },
        Wire::Native(options) => {
            let suite = options.suite.unwrap_or(Suite::HmacSha256);
            let keyring = match &args.keyring {
                Some(path) => keyring::load(path, suite)?,
                None => {
                    let key =
                        key::load_native(common.key_file.as_deref(), &options.key_id, &[suite])?;
                    Keyring::new(key).map_err(|e| format!("cannot hold the key: {e}"))?
                }
            };
            Keys::Native {
                keyring: Arc::new(keyring),
                config: native::Config::new(&options.context),
            }
        }
    };
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    // On stdout only, so that `2>&1` shows it once.
    line(&format!("listening on {local}"));

    let shared = Shared {
        keys,
        timeout: common.timeout,
    };
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
        let shared = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("conn {peer}"))
            .spawn(move || handle(&stream, peer, shared, slot));
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

/// Serves one connection with its own handles to the keys; `slot` is
/// given back when it ends.
fn handle(stream: &TcpStream, peer: SocketAddr, shared: Shared, slot: Slot) {
    let _ = stream.set_nodelay(true);
    let result = match &shared.keys {
        Keys::Recipe { key, config } => {
            server_authenticate_within(stream, Arc::clone(key), *config, shared.timeout)
        }
        Keys::Multiprocessing { key, config } => {
            server_authenticate_within(stream, Arc::clone(key), *config, shared.timeout)
        }
        Keys::Native { keyring, config } => {
            server_authenticate_within(stream, Arc::clone(keyring), *config, shared.timeout)
        }
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
    let digest = auth.outcome.scheme.digest();
    match &auth.session {
        Some(session) => line(&format!(
            "accepted {peer} digest={digest} key_id={}",
            session.key_id()
        )),
        None => line(&format!("accepted {peer} digest={digest}")),
    }
    // Authenticated peers may idle; a peer that stops reading our echo is
    // still cut off by the write timeout.
    let relaxed = stream
        .set_read_timeout(None)
        .and_then(|()| stream.set_write_timeout(Some(shared.timeout)));
    let echoed = relaxed.and_then(|()| match &shared.keys {
        Keys::Recipe { .. } => echo_raw(stream, auth),
        Keys::Multiprocessing { .. } | Keys::Native { .. } => echo_frames(stream, auth),
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
        // The CLI's own wording for these two (the library's has changed).
        AuthError::Handshake(Error::Md5NotAllowed) => MD5_NOT_ALLOWED.into(),
        AuthError::Handshake(Error::KeyIdLength { len }) => {
            format!("key id of {len} bytes: key ids are 1 to 32 bytes")
        }
        other => other.to_string(),
    }
}

/// Why a client using HMAC-MD5 is rejected without `--allow-md5`.
const MD5_NOT_ALLOWED: &str = "the peer uses HMAC-MD5, so it looks like Python <= 3.11 (or \
                               asked for {md5}); enable MD5 with allow_md5 (CLI: --allow-md5) \
                               if that peer is expected";

/// Recipe: echo raw bytes, the handshake's leftover first, until EOF.
fn echo_raw(stream: &TcpStream, auth: AuthStream<&TcpStream>) -> io::Result<()> {
    let mut reader = stream;
    let mut writer = stream;
    writer.write_all(auth.leftover())?;
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
fn echo_frames(stream: &TcpStream, auth: AuthStream<&TcpStream>) -> io::Result<()> {
    let mut reader = stream;
    let mut writer = stream;
    let mut pending = auth.into_parts().1.leftover;
    while let Some(message) = recv_bytes(&mut reader, &mut pending, MAX_MESSAGE)? {
        send_bytes(&mut writer, &message)?;
    }
    Ok(())
}
