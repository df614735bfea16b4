//! Blocking adapter over any `Read + Write` (feature `std`):
//! `server_authenticate` / `client_authenticate` for every profile, and
//! CPython's `send_bytes` / `recv_bytes` for the framing after the
//! multiprocessing and native handshakes.

use std::fmt;
use std::io::{self, Read, Write};
use std::vec::Vec;

use getrandom::SysRng;

use crate::multiprocessing::{FrameHeader, HeaderDecoder};
use crate::native::Session;
use crate::{
    ClientHandshake, ClientProfile, Error, Handshake, Outcome, ServerHandshake, ServerProfile,
    Status,
};

/// Size of the read buffer, in bytes. Bytes read past the handshake (the
/// application's first data arriving in the same read) are returned in
/// [`Authenticated::leftover`].
pub const READ_CHUNK: usize = 4096;

/// Why a blocking handshake failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// The protocol failed: wrong key, tampering, a peer of another
    /// protocol. See [`Error`].
    Handshake(Error),
    /// A read or write hit the socket's timeout (`WouldBlock` / `TimedOut`):
    /// the peer is silent or slow.
    Timeout,
    /// The peer closed the connection before the handshake finished. In the
    /// recipe and multiprocessing profiles a server that rejects a client
    /// may just close.
    Closed,
    /// The operating system's random generator failed.
    Random(getrandom::Error),
    /// Any other I/O error.
    Io(io::Error),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Handshake(e) => e.fmt(f),
            AuthError::Timeout => f.write_str("handshake timed out: the peer sent nothing in time"),
            AuthError::Closed => f.write_str(
                "the peer closed the connection during the handshake (it may have rejected our proof)",
            ),
            AuthError::Random(e) => write!(f, "the operating system's random generator failed: {e}"),
            AuthError::Io(e) => write!(f, "I/O error during the handshake: {e}"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::Handshake(e) => Some(e),
            AuthError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for AuthError {
    fn from(e: Error) -> AuthError {
        AuthError::Handshake(e)
    }
}

impl From<io::Error> for AuthError {
    fn from(e: io::Error) -> AuthError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => AuthError::Timeout,
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => AuthError::Closed,
            _ => AuthError::Io(e),
        }
    }
}

/// A completed handshake.
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// What the handshake concluded.
    pub outcome: Outcome,
    /// Bytes read past the last handshake message: the application's, in
    /// order, to be processed before anything read next.
    pub leftover: Vec<u8>,
    /// The native profile's session secrets (key id, suite, handshake hash,
    /// session keys, exporter); `None` for the other profiles.
    pub session: Option<Session>,
}

/// Runs any [`Handshake`] machine to completion over `stream`, then
/// [`finish`](Handshake::finish)es it.
///
/// Writes are flushed once a message is out; reads interrupted by a signal
/// (`Interrupted`) are retried. The machine is consumed: on success its
/// outcome and session are in the result; on failure it is dropped.
///
/// # Errors
/// See [`AuthError`]; a protocol failure message (`#FAILURE#`, the native
/// reject verdict) is written before the error is returned.
pub fn drive<H: Handshake, S: Read + Write + ?Sized>(
    mut machine: H,
    stream: &mut S,
) -> Result<Authenticated, AuthError> {
    let mut buf = [0u8; READ_CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        match machine.status() {
            Status::Send(bytes) => {
                let n = match stream.write(bytes) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => other?,
                };
                if n == 0 {
                    return Err(AuthError::Closed);
                }
                machine.sent(n)?;
                if !matches!(machine.status(), Status::Send(_)) {
                    stream.flush()?;
                }
            }
            Status::NeedInput => {
                if start == end {
                    let n = match stream.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => other?,
                    };
                    if n == 0 {
                        return Err(AuthError::Closed);
                    }
                    (start, end) = (0, n);
                }
                start += machine.receive(&buf[start..end]);
            }
            Status::Done(_) => {
                let finished = machine.finish()?;
                return Ok(Authenticated {
                    outcome: finished.outcome,
                    leftover: buf[start..end].to_vec(),
                    session: finished.session,
                });
            }
            Status::Failed(e) => return Err(AuthError::Handshake(e)),
        }
    }
}

/// The server side of any profile over `stream`: the recipe's
/// `server_authenticate`, CPython's `Listener.accept()` authentication, or
/// the native server (PROTOCOL.md), with `keys` as the profile needs them
/// (see [`ServerProfile`]) and randomness from the OS RNG (`getrandom`).
/// For the native profile, [`Authenticated::session`] holds the session
/// secrets.
///
/// Set a read timeout on the socket first; it turns into [`AuthError::Timeout`].
///
/// # Errors
/// [`AuthError`]: the peer failed, or I/O did.
pub fn server_authenticate<K, P, S>(
    stream: &mut S,
    keys: K,
    profile: P,
) -> Result<Authenticated, AuthError>
where
    P: ServerProfile<K>,
    S: Read + Write + ?Sized,
{
    let machine = ServerHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream)
}

/// The client side of any profile over `stream`: the recipe's
/// `client_authenticate`, CPython's `Client()` authentication, or the
/// native client (returning once the server's tag is verified).
///
/// # Errors
/// [`AuthError`]: the peer failed or rejected us
/// (`AuthError::Handshake(Error::PeerRejected)`), or I/O did.
pub fn client_authenticate<K, P, S>(
    stream: &mut S,
    keys: K,
    profile: P,
) -> Result<Authenticated, AuthError>
where
    P: ClientProfile<K>,
    S: Read + Write + ?Sized,
{
    let machine = ClientHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream)
}

/// CPython `Connection.send_bytes(payload)`: the length prefix, then the payload.
///
/// # Errors
/// The writer's I/O errors.
pub fn send_bytes<W: Write + ?Sized>(stream: &mut W, payload: &[u8]) -> io::Result<()> {
    stream.write_all(FrameHeader::new(payload.len() as u64).as_bytes())?;
    stream.write_all(payload)?;
    stream.flush()
}

/// CPython `Connection.recv_bytes(maxsize)`: one whole message.
///
/// `pending` holds bytes already read from the stream (start it with
/// [`Authenticated::leftover`]); they are used first and drained as consumed.
/// Returns `Ok(None)` at a clean end of stream before a new message.
///
/// The buffer grows with the bytes that actually arrive (at most
/// [`READ_CHUNK`] beyond them), never to the announced length up front, so a
/// peer cannot make us reserve `maxsize` bytes with a 12-byte prefix.
/// Reads interrupted by a signal (`Interrupted`) are retried.
///
/// # Errors
/// `InvalidData` for a bad or oversized length prefix (checked before any
/// payload is read), `UnexpectedEof` for a stream that ends mid-message,
/// and the reader's errors.
pub fn recv_bytes<R: Read + ?Sized>(
    stream: &mut R,
    pending: &mut Vec<u8>,
    maxsize: u64,
) -> io::Result<Option<Vec<u8>>> {
    let mut header = HeaderDecoder::new(maxsize);
    let len = loop {
        if pending.is_empty() {
            let mut chunk = [0u8; READ_CHUNK];
            let n = match stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            };
            if n == 0 {
                return if header.buffered() > 0 {
                    Err(io::ErrorKind::UnexpectedEof.into())
                } else {
                    Ok(None)
                };
            }
            pending.extend_from_slice(&chunk[..n]);
        }
        let decoded = header
            .decode(pending)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        pending.drain(..decoded.consumed);
        if let Some(len) = decoded.len {
            break usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        }
    };
    let take = len.min(pending.len());
    let mut message: Vec<u8> = pending.drain(..take).collect();
    let mut chunk = [0u8; READ_CHUNK];
    while message.len() < len {
        let want = (len - message.len()).min(READ_CHUNK);
        let n = match stream.read(&mut chunk[..want]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        message.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(message))
}
