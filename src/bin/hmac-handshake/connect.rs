//! `connect`: authenticate to a server, send one message, print the echo.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    client_authenticate, recv_bytes, send_bytes, AuthError, Authenticated,
};
use hmac_handshake::Error;

use crate::args::ConnectArgs;
use crate::deadline::Deadline;
use crate::failure::Failure;
use crate::key;
use crate::profile::ProfileName;
use crate::serve::MAX_MESSAGE;

/// What a recipe client concludes when the server closes instead of echoing.
const RECIPE_CLOSED: &str = "the server closed the connection after our proof: it most likely \
                             rejected our key (the recipe sends no verdict)";

/// Runs the client once.
///
/// # Errors
/// [`Failure::Auth`] when authentication fails, [`Failure::Other`] otherwise.
pub fn run(args: &ConnectArgs) -> Result<(), Failure> {
    let common = &args.common;
    let profile = common.profile.build(common.digest, common.allow_md5)?;
    let message = args.message.as_bytes();
    if common.profile == ProfileName::Recipe && message.is_empty() {
        return Err(Failure::Other(
            "--message must not be empty with --profile recipe: the echo is the only sign \
             that the server accepted our key"
                .into(),
        ));
    }
    let key = key::load(common.key_file.as_deref())?;
    let timeout = common.timeout;
    let stream = dial(&args.addr, timeout)?;
    let _ = stream.set_nodelay(true);

    let auth = client_authenticate(&mut Deadline::new(&stream, timeout), &key, profile)
        .map_err(|e| handshake_failure(&e, timeout))?;
    drop(key);
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot set socket timeouts: {e}"))?;

    let reply = match common.profile {
        ProfileName::Recipe => exchange_raw(&stream, auth, message)?,
        ProfileName::Multiprocessing => exchange_frames(&stream, auth, message)?,
    };
    let mut out = io::stdout().lock();
    out.write_all(&reply)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the reply to stdout: {e}"))?;
    Ok(())
}

/// Connects to the first address `addr` resolves to that answers in time.
fn dial(addr: &str, timeout: Duration) -> Result<TcpStream, Failure> {
    let candidates = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?;
    let mut last = None;
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Other(match last {
        Some(e) => format!("cannot connect to {addr}: {e}"),
        None => format!("cannot connect to {addr}: it resolves to no address"),
    }))
}

/// Maps a failed client handshake to its message and exit status.
fn handshake_failure(e: &AuthError, timeout: Duration) -> Failure {
    match e {
        AuthError::Handshake(Error::PeerRejected) => Failure::Auth(
            "the server rejected our proof (#FAILURE#): the two sides hold different keys".into(),
        ),
        AuthError::Handshake(
            inner @ (Error::BadTag | Error::TagLength { .. } | Error::Md5NotAllowed),
        ) => Failure::Auth(format!("we rejected the server: {inner}")),
        AuthError::Handshake(inner) => Failure::Other(format!(
            "protocol error during the handshake ({}): {inner}",
            inner.code()
        )),
        AuthError::Timeout => Failure::Other(format!(
            "handshake timed out after {}s: the server sent nothing in time",
            timeout.as_secs_f64()
        )),
        AuthError::Closed => Failure::Other(
            "the server closed the connection during the handshake (it may be at its \
             connection limit, or not speak this profile)"
                .into(),
        ),
        other => Failure::Other(other.to_string()),
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

fn io_failure(what: &str, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            Failure::Other(format!("timed out while {what}"))
        }
        _ => Failure::Other(format!("{what}: {e}")),
    }
}

/// Recipe: send the raw bytes, read exactly as many back. A close before
/// any echoed byte is the recipe's only sign of a rejection.
fn exchange_raw(
    stream: &TcpStream,
    auth: Authenticated,
    message: &[u8],
) -> Result<Vec<u8>, Failure> {
    let mut writer = stream;
    if let Err(e) = writer.write_all(message).and_then(|()| writer.flush()) {
        return Err(if is_closed(&e) {
            Failure::Auth(RECIPE_CLOSED.into())
        } else {
            io_failure("sending the message", &e)
        });
    }
    let mut reply = auth.leftover;
    reply.truncate(message.len());
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
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_closed(&e) && reply.is_empty() => {
                return Err(Failure::Auth(RECIPE_CLOSED.into()))
            }
            Err(e) => return Err(io_failure("reading the echo", &e)),
        }
    }
    Ok(reply)
}

/// Multiprocessing: one `send_bytes`, one `recv_bytes`.
fn exchange_frames(
    stream: &TcpStream,
    auth: Authenticated,
    message: &[u8],
) -> Result<Vec<u8>, Failure> {
    let mut writer = stream;
    send_bytes(&mut writer, message).map_err(|e| io_failure("sending the message", &e))?;
    let mut reader = stream;
    let mut pending = auth.leftover;
    match recv_bytes(&mut reader, &mut pending, MAX_MESSAGE) {
        Ok(Some(reply)) => Ok(reply),
        Ok(None) => Err(Failure::Other(
            "the server closed the connection without replying".into(),
        )),
        Err(e) => Err(io_failure("reading the reply", &e)),
    }
}
