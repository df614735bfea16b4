//! `connect`: authenticate to a server (TCP, or a Unix socket as
//! `unix:PATH`), send one message, print the echo.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    client_authenticate_within, recv_bytes, send_bytes, AuthError, AuthStream, Timeouts,
};
use hmac_handshake::native::{self, NativeKey, Session, Suite};
use hmac_handshake::{multiprocessing, recipe, Error, Key};

use crate::args::ConnectArgs;
use crate::failure::Failure;
use crate::key;
use crate::profile::{self, NativeOptions, Wire};
use crate::serve::{MAX_MESSAGE, UNIX_PREFIX};

/// What a recipe client concludes when the server closes instead of echoing.
const RECIPE_CLOSED: &str = "the server closed the connection after our proof: it most likely \
                             rejected our key, or uses another --digest (the recipe sends no \
                             verdict)";

/// The hint on a handshake that timed out: the server speaks first in
/// every profile, so a peer that sent nothing may not authenticate at all.
const SILENT_PEER: &str = "if the server sent nothing at all, it may not require \
                           authentication (a multiprocessing Listener or Client without \
                           authkey), or expect the client to speak first (HTTP, TLS, a database)";

/// What a recipe client concludes when no echo comes in time: the recipe
/// sends no verdict, and a server that takes a longer tag than ours (HMAC
/// with another digest) waits for the rest of it, taking our message for it.
const RECIPE_SILENT: &str = "no echo within --timeout: a recipe server that expects a longer tag \
                             than ours (another --digest; MD5 tags are 16 bytes, SHA-256 32) \
                             may still be reading it; check --digest on both sides";

/// What a recipe client concludes when the reply differs from the message.
const NOT_AN_ECHO: &str = "the server's reply is not our message: not an echo server of this \
                           profile?";

/// What a native client says when the server answers `03 01`.
const NATIVE_REJECTED: &str = "the server rejected our proof: a wrong key, a key id not on its \
                               keyring, or a different --context or --server-name on the two \
                               sides";

/// Why a native client may reject the server's tag.
const NATIVE_SERVER_REJECTED: &str =
    "a wrong key, or a different --context or --server-name on the two sides";

/// What `connect --forward-secrecy` says of a server without the mode.
const NO_FORWARD_SECRECY: &str = "the server does not use forward secrecy, and --forward-secrecy \
                                  requires it: start the server with `serve --forward-secrecy`, \
                                  or leave --forward-secrecy out to accept a session without it";

/// The keys a client handshake takes by value (dropped, and their states
/// wiped, when it ends, before the echo), with the profile's settings.
enum ClientKeys {
    Recipe(Key, recipe::Config),
    Multiprocessing(Key, multiprocessing::Config),
    Native(Vec<NativeKey>, native::Config, NativeOptions),
}

/// A connected socket.
pub(crate) enum Dialed {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Runs the client once.
///
/// # Errors
/// [`Failure::Auth`] when authentication fails, [`Failure::Other`] otherwise.
pub fn run(args: &ConnectArgs) -> Result<(), Failure> {
    let common = &args.common;
    let wire = profile::wire(common)?;
    let message = args.message.as_bytes();
    if matches!(wire, Wire::Recipe(_)) && message.is_empty() {
        return Err(Failure::Other(
            "--message must not be empty with --profile recipe: the echo is the only sign \
             that the server accepted our key"
                .into(),
        ));
    }
    let key_file = common.key_file.as_deref();
    let (keys, hint) = match wire {
        Wire::Recipe(config) => {
            let (key, hint) = key::load_hinted(key_file)?;
            (ClientKeys::Recipe(key, config), hint)
        }
        Wire::Multiprocessing(config) => {
            let (key, hint) = key::load_hinted(key_file)?;
            (ClientKeys::Multiprocessing(key, config), hint)
        }
        Wire::Native(options) => {
            // One key per suite accepted: --suite S, or else all four.
            let suites = options
                .suite
                .map_or(Suite::ALL.to_vec(), |suite| vec![suite]);
            let (keys, hint) = key::load_native_hinted(key_file, &options.key_id, &suites)?;
            let config = options.client_config()?;
            (ClientKeys::Native(keys, config, options), hint)
        }
    };
    let timeout = common.timeout;
    let talked = match dial(&args.addr, timeout)? {
        Dialed::Tcp(stream) => talk(&stream, keys, message, timeout),
        Dialed::Unix(stream) => talk(&stream, keys, message, timeout),
    };
    let reply = talked.map_err(|failure| match (failure, hint) {
        // Only a failed proof may be the newline's fault.
        (failure @ Failure::Auth(_), Some(hint)) => Failure::Hinted(Box::new(failure), hint),
        (failure, _) => failure,
    })?;
    let mut out = io::stdout().lock();
    out.write_all(&reply)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the reply to stdout: {e}"))?;
    Ok(())
}

/// The handshake with `keys`, then the exchange of `message`, over
/// `stream`; returns the reply.
fn talk<S>(
    stream: &S,
    keys: ClientKeys,
    message: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, Failure>
where
    S: Timeouts,
    for<'a> &'a S: Read + Write,
{
    match keys {
        ClientKeys::Recipe(key, config) => {
            let auth = client_authenticate_within(stream, key, config, timeout)
                .map_err(|e| handshake_failure(&e, timeout))?;
            relax(stream, timeout)?;
            exchange_raw(stream, &auth, message)
        }
        ClientKeys::Multiprocessing(key, config) => {
            let auth = client_authenticate_within(stream, key, config, timeout)
                .map_err(|e| handshake_failure(&e, timeout))?;
            relax(stream, timeout)?;
            exchange_frames(stream, auth, message)
        }
        ClientKeys::Native(keys, config, options) => {
            let auth = client_authenticate_within(stream, keys, config, timeout)
                .map_err(|e| native_failure(&e, &options, timeout))?;
            if let Some(session) = &auth.session {
                report_session(session);
            }
            relax(stream, timeout)?;
            exchange_frames(stream, auth, message)
        }
    }
}

/// Connects to `unix:PATH`, or else to the first address `addr` resolves
/// to that answers in time.
pub(crate) fn dial(addr: &str, timeout: Duration) -> Result<Dialed, Failure> {
    if let Some(path) = addr.strip_prefix(UNIX_PREFIX) {
        // A Unix socket connects at once or fails at once: no timeout.
        return UnixStream::connect(path)
            .map(Dialed::Unix)
            .map_err(|e| Failure::Other(format!("cannot connect to {addr}: {e}")));
    }
    let candidates = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?;
    let mut last = None;
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(Dialed::Tcp(stream));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Other(match last {
        Some(e) => format!("cannot connect to {addr}: {e}"),
        None => format!("cannot connect to {addr}: it resolves to no address"),
    }))
}

/// After the handshake: each read or write of the echo gets `timeout`.
fn relax(stream: &impl Timeouts, timeout: Duration) -> Result<(), Failure> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| Failure::Other(format!("cannot set socket timeouts: {e}")))
}

/// The native success line on stderr (stdout keeps only the reply):
/// `authenticated key_id=ID suite=SUITE handshake_hash=HEX
/// forward_secrecy=yes|no`.
fn report_session(session: &Session) {
    say!(
        "authenticated key_id={} suite={} handshake_hash={} forward_secrecy={}",
        session.key_id(),
        session.suite(),
        hex::encode(session.handshake_hash()),
        if session.forward_secrecy() {
            "yes"
        } else {
            "no"
        }
    );
}

/// Maps a failed native client handshake to its message and exit status.
fn native_failure(e: &AuthError, options: &NativeOptions, timeout: Duration) -> Failure {
    match e {
        AuthError::Handshake(Error::PeerRejected) => Failure::Auth(NATIVE_REJECTED.into()),
        AuthError::Handshake(inner @ Error::BadTag) => Failure::Auth(format!(
            "we rejected the server: {inner} ({NATIVE_SERVER_REJECTED})"
        )),
        AuthError::Handshake(inner @ Error::ReflectedNonce) => {
            Failure::Auth(format!("we rejected the server: {inner}"))
        }
        // A configuration mismatch, not a failed proof: exit 1.
        AuthError::Handshake(Error::SuiteNotAllowed { id }) => {
            Failure::Other(match (Suite::from_id(*id), options.suite) {
                (Some(theirs), Some(ours)) => format!(
                    "suite mismatch: the server uses {theirs}, and this client allows only \
                     {ours} (--suite); pass --suite {theirs}, or leave --suite out to accept any \
                     suite"
                ),
                _ => format!(
                    "the server chose suite 0x{id:02x}, which this client does not know \
                     (is the server a newer version?)"
                ),
            })
        }
        // A configuration mismatch too: we refuse at the hello, before we
        // prove anything. (Without --forward-secrecy the client follows
        // the server and never fails so.)
        AuthError::Handshake(Error::ForwardSecrecyRequired) if options.forward_secrecy => {
            Failure::Other(NO_FORWARD_SECRECY.into())
        }
        AuthError::Handshake(Error::NotNative) => Failure::Other(
            "the server does not speak the native protocol (no HMHS magic); check --profile \
             on both sides"
                .into(),
        ),
        _ => handshake_failure(e, timeout),
    }
}

/// Maps a failed client handshake to its message and exit status.
fn handshake_failure(e: &AuthError, timeout: Duration) -> Failure {
    match e {
        AuthError::Handshake(Error::PeerRejected) => Failure::Auth(
            "the server rejected our proof (#FAILURE#): the two sides hold different keys".into(),
        ),
        AuthError::Handshake(inner @ (Error::BadTag | Error::TagLength { .. })) => {
            Failure::Auth(format!("we rejected the server: {inner}"))
        }
        // A configuration mismatch, not a failed proof: exit 1.
        AuthError::Handshake(Error::Md5NotAllowed) => Failure::Other(
            "the server uses HMAC-MD5 (Python <= 3.11 multiprocessing?): pass --allow-md5 to \
             talk to it"
                .into(),
        ),
        // A length prefix that is another protocol's first four bytes.
        AuthError::Handshake(inner @ Error::MessageTooLong { len, .. }) => {
            match other_protocol(*len) {
                Some((what, advice)) => Failure::Other(format!(
                    "the server speaks {what}: its first bytes, {:?}, are what this profile \
                     reads as a message length ({len}); {advice}",
                    String::from_utf8_lossy(&u32::try_from(*len).unwrap_or(0).to_be_bytes())
                )),
                None => Failure::Other(format!(
                    "protocol error during the handshake ({}): {inner}",
                    inner.code()
                )),
            }
        }
        AuthError::Handshake(inner) => Failure::Other(format!(
            "protocol error during the handshake ({}): {inner}",
            inner.code()
        )),
        // The peer may have sent part of the handshake: it did not finish.
        AuthError::Timeout => Failure::Hinted(
            Box::new(Failure::Other(format!(
                "the handshake did not finish in time (the peer is silent or slow): --timeout {}s",
                timeout.as_secs_f64()
            ))),
            SILENT_PEER.into(),
        ),
        AuthError::Closed => Failure::Other(
            "the server closed the connection during the handshake (it may be at its \
             connection limit, or not speak this profile)"
                .into(),
        ),
        other => Failure::Other(other.to_string()),
    }
}

/// The protocol whose first four bytes read as the big-endian length
/// `len`: a multiprocessing client takes a server's first bytes for a
/// length prefix, so an HTTP server (`HTTP/1.1 400 ...`), a native server
/// (`ServerHello`'s `HMHS` magic) or a TLS server (an alert or handshake
/// record, `15 03` / `16 03`) gives a length far over any message.
fn other_protocol(len: u64) -> Option<(&'static str, &'static str)> {
    let bytes = u32::try_from(len).ok()?.to_be_bytes();
    match &bytes {
        b"HTTP" => Some(("HTTP", "check the address and port")),
        b"HMHS" => Some(("the native protocol", "use --profile native")),
        [0x15 | 0x16, 0x03, 0x00..=0x04, _] => Some(("TLS", "check the address and port")),
        _ => None,
    }
}

/// `true` for the errors that mean the peer closed or reset the connection.
fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// The length a reply's prefix announced, when `recv_bytes` refused it as
/// over the limit.
fn too_long(e: &io::Error) -> Option<u64> {
    match e.get_ref()?.downcast_ref::<Error>()? {
        Error::MessageTooLong { len, .. } => Some(*len),
        _ => None,
    }
}

/// `true` for a read or write that ran out of its socket timeout (also
/// `probe`'s test).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn io_failure(what: &str, e: &io::Error) -> Failure {
    if is_timeout(e) {
        Failure::Other(format!("timed out while {what}"))
    } else {
        Failure::Other(format!("{what}: {e}"))
    }
}

/// Recipe: send the raw bytes and read back as many, which must be the
/// same bytes. A recipe server sends nothing but the 32-byte challenge
/// before our proof, so `auth.leftover` (bytes that came with the
/// challenge) must be empty. A close before any echoed byte is the recipe's
/// only sign of a rejection.
fn exchange_raw<S>(stream: &S, auth: &AuthStream<&S>, message: &[u8]) -> Result<Vec<u8>, Failure>
where
    for<'a> &'a S: Read + Write,
{
    if !auth.leftover().is_empty() {
        return Err(Failure::Other(format!(
            "the server sent {} bytes beyond the 32-byte challenge before our proof: not a \
             recipe server (wrong --profile?)",
            auth.leftover().len()
        )));
    }
    let mut writer = stream;
    if let Err(e) = writer.write_all(message).and_then(|()| writer.flush()) {
        return Err(if is_closed(&e) {
            Failure::Auth(RECIPE_CLOSED.into())
        } else {
            io_failure("sending the message", &e)
        });
    }
    let mut reply = Vec::with_capacity(message.len());
    let mut reader = stream;
    let mut buf = [0u8; 16 * 1024];
    while reply.len() < message.len() {
        let want = (message.len() - reply.len()).min(buf.len());
        match reader.read(&mut buf[..want]) {
            Ok(0) if reply.is_empty() => return Err(Failure::Auth(RECIPE_CLOSED.into())),
            Ok(0) => {
                return Err(Failure::Other(format!(
                    "the server closed the connection after echoing {} of {} bytes",
                    reply.len(),
                    message.len()
                )))
            }
            Ok(n) => {
                let got = &buf[..n];
                // The read never goes past the message, so this is in bounds.
                if got != &message[reply.len()..reply.len() + n] {
                    return Err(Failure::Other(NOT_AN_ECHO.into()));
                }
                reply.extend_from_slice(got);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_closed(&e) && reply.is_empty() => {
                return Err(Failure::Auth(RECIPE_CLOSED.into()))
            }
            Err(e) if is_timeout(&e) && reply.is_empty() => {
                return Err(Failure::Other(RECIPE_SILENT.into()))
            }
            Err(e) => return Err(io_failure("reading the echo", &e)),
        }
    }
    Ok(reply)
}

/// Why a framed reply that is not our message is not an echo: a
/// multiprocessing manager (`multiprocessing.managers`) answers every
/// message with a pickled `('#TRACEBACK', text)` or `('#ERROR', ...)`
/// tuple (`managers.Server.handle_request`, `dispatch`), which is said in
/// words; anything else is shown as its first bytes.
fn not_our_message(reply: &[u8]) -> String {
    // A pickle of protocol 2 or later starts with PROTO (0x80) and the
    // protocol number.
    let pickled = reply.len() > 2 && reply[0] == 0x80 && (2..=5).contains(&reply[1]);
    const MANAGER_REPLIES: [&[u8]; 3] = [b"#TRACEBACK", b"#ERROR", b"#RETURN"];
    let manager = MANAGER_REPLIES
        .iter()
        .find(|tag| reply.windows(tag.len()).any(|w| w == **tag));
    if let (true, Some(tag)) = (pickled, manager) {
        return format!(
            "the peer is a multiprocessing manager: it accepted our key, then answered our \
             message with a pickled {} reply, since a manager takes pickled requests, not \
             messages to echo (connect talks to echo servers: `hmac-handshake serve`, or a \
             Listener that echoes)",
            String::from_utf8_lossy(tag)
        );
    }
    let shown: String = reply
        .iter()
        .take(32)
        .flat_map(|&b| core::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!(
        "{NOT_AN_ECHO} (a {}-byte reply, starting \"{shown}\")",
        reply.len()
    )
}

/// Multiprocessing and native: one `send_bytes`, one `recv_bytes`, which
/// must give our message back.
fn exchange_frames<S>(stream: &S, auth: AuthStream<&S>, message: &[u8]) -> Result<Vec<u8>, Failure>
where
    for<'a> &'a S: Read + Write,
{
    let mut writer = stream;
    send_bytes(&mut writer, message).map_err(|e| io_failure("sending the message", &e))?;
    let mut reader = stream;
    let mut pending = auth.into_parts().1.leftover;
    match recv_bytes(&mut reader, &mut pending, MAX_MESSAGE) {
        Ok(Some(reply)) if reply == message => Ok(reply),
        Ok(Some(reply)) => Err(Failure::Other(not_our_message(&reply))),
        Ok(None) => Err(Failure::Other(
            "the server closed the connection without replying".into(),
        )),
        Err(e) => Err(match too_long(&e) {
            Some(len) => Failure::Other(format!(
                "the reply's length prefix says {len} bytes, over connect's limit of \
                 {MAX_MESSAGE} (16 MiB, serve's default --max-message): not an echo of our \
                 message"
            )),
            None => io_failure("reading the reply", &e),
        }),
    }
}
