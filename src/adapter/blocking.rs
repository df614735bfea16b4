//! Blocking adapter over any `Read + Write` (feature `std`):
//! `server_authenticate` / `client_authenticate` for every profile, with a
//! whole-handshake deadline on sockets ([`server_authenticate_within`]),
//! returning an [`AuthStream`] that reads the pipelined leftover first; and
//! CPython's `send_bytes` / `recv_bytes` for the framing after the
//! multiprocessing and native handshakes.

use std::io::{self, Read, Write};
use std::time::Duration;
use std::vec::Vec;

use getrandom::SysRng;

pub use super::deadline::{Deadline, Timeouts};
pub use super::error::AuthError;
use super::frames::{self, Frame};
pub use super::frames::{READ_CHUNK, SINGLE_WRITE_MAX};
use super::stream::auth_stream;
pub use super::stream::Authenticated;
use crate::{ClientHandshake, ClientProfile, Handshake, ServerHandshake, ServerProfile, Status};

auth_stream! {
    /// An authenticated stream: the stream the handshake ran on, with what
    /// the handshake concluded and the bytes read past its last message.
    ///
    /// [`Read`] yields those leftover bytes first, then the stream's, so no
    /// application byte pipelined behind the handshake is lost; [`Write`]
    /// goes straight to the stream. [`recv_bytes`](Self::recv_bytes) and
    /// [`send_bytes`](Self::send_bytes) speak CPython's framing over it.
    AuthStream
}

impl<S: Read> AuthStream<S> {
    /// CPython `Connection.recv_bytes(maxsize)`: one whole message, or
    /// `Ok(None)` at a clean end of stream between messages. See
    /// [`recv_bytes`].
    ///
    /// Resumable: after an error from the stream (a read timeout, say) the
    /// bytes of a message read so far stay here, and the next call goes on
    /// from them.
    ///
    /// # Errors
    /// As [`recv_bytes`].
    pub fn recv_bytes(&mut self, maxsize: u64) -> io::Result<Option<Vec<u8>>> {
        recv_bytes(&mut self.stream, &mut self.pending, maxsize)
    }
}

impl<S: Write> AuthStream<S> {
    /// CPython `Connection.send_bytes(payload)`. See [`send_bytes`].
    ///
    /// # Errors
    /// The stream's I/O errors; after one, the stream is mid-frame and must
    /// be closed.
    pub fn send_bytes(&mut self, payload: &[u8]) -> io::Result<()> {
        send_bytes(&mut self.stream, payload)
    }
}

impl<S: Read> Read for AuthStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            return self.stream.read(buf);
        }
        Ok(self.take_leftover(buf))
    }
}

impl<S: Write> Write for AuthStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
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
pub fn drive<H: Handshake, S: Read + Write>(
    mut machine: H,
    mut stream: S,
) -> Result<AuthStream<S>, AuthError> {
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
                return Ok(AuthStream::new(finished, stream, &buf[start..end]));
            }
            Status::Failed(e) => return Err(AuthError::Handshake(e)),
        }
    }
}

/// [`drive`] under a whole-handshake deadline: every read and write gets
/// the time left until `within` from now as its socket timeout, so a peer
/// that drips a byte at a time cannot stretch the handshake past it. The
/// stream's own timeouts are put back afterwards (also on failure).
///
/// # Errors
/// [`AuthError::Timeout`] once the deadline passes; otherwise as [`drive`].
pub fn drive_within<H: Handshake, S: Read + Write + Timeouts>(
    machine: H,
    stream: S,
    within: Duration,
) -> Result<AuthStream<S>, AuthError> {
    let saved = (stream.read_timeout()?, stream.write_timeout()?);
    let mut deadline = Deadline::new(stream, within);
    let result = drive(machine, &mut deadline).map(|a| (a.outcome, a.session, a.pending));
    let restored = deadline
        .get_ref()
        .set_read_timeout(saved.0)
        .and_then(|()| deadline.get_ref().set_write_timeout(saved.1));
    let (outcome, session, pending) = result?;
    restored?;
    Ok(AuthStream {
        outcome,
        session,
        stream: deadline.into_inner(),
        pending,
    })
}

/// The server side of any profile over `stream`: the recipe's
/// `server_authenticate`, CPython's `Listener.accept()` authentication
/// (`multiprocessing.connection.deliver_challenge` then
/// `answer_challenge`), or the native server (PROTOCOL.md), with `keys` as
/// the profile needs them (see [`ServerProfile`]) and randomness from the
/// OS RNG (`getrandom`). For the native profile, [`AuthStream::session`]
/// holds the session secrets.
///
/// `stream` may be a `TcpStream`, `&TcpStream`, `&mut S`, or any
/// `Read + Write`. Without a deadline, a slow peer can hold this call as
/// long as its socket timeouts allow per byte: on sockets use
/// [`server_authenticate_within`].
///
/// # Errors
/// [`AuthError`]: the peer failed, or I/O did.
pub fn server_authenticate<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
) -> Result<AuthStream<S>, AuthError>
where
    P: ServerProfile<K>,
    S: Read + Write,
{
    let machine = ServerHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream)
}

/// [`server_authenticate`] that ends by `within` from now, however the
/// peer paces its bytes (see [`drive_within`]).
///
/// # Errors
/// [`AuthError::Timeout`] at the deadline; otherwise as [`server_authenticate`].
pub fn server_authenticate_within<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
    within: Duration,
) -> Result<AuthStream<S>, AuthError>
where
    P: ServerProfile<K>,
    S: Read + Write + Timeouts,
{
    let machine = ServerHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive_within(machine, stream, within)
}

/// The client side of any profile over `stream`: the recipe's
/// `client_authenticate`, CPython's `Client()` authentication
/// (`answer_challenge` then `deliver_challenge`), or the native client
/// (returning once the server's tag is verified).
///
/// # Errors
/// [`AuthError`]: the peer failed or rejected us
/// (`AuthError::Handshake(Error::PeerRejected)`), or I/O did.
///
/// [`Error`]: crate::Error
pub fn client_authenticate<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
) -> Result<AuthStream<S>, AuthError>
where
    P: ClientProfile<K>,
    S: Read + Write,
{
    let machine = ClientHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream)
}

/// [`client_authenticate`] that ends by `within` from now (see
/// [`drive_within`]).
///
/// # Errors
/// [`AuthError::Timeout`] at the deadline; otherwise as [`client_authenticate`].
pub fn client_authenticate_within<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
    within: Duration,
) -> Result<AuthStream<S>, AuthError>
where
    P: ClientProfile<K>,
    S: Read + Write + Timeouts,
{
    let machine = ClientHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive_within(machine, stream, within)
}

/// CPython `Connection.send_bytes(payload)` (`_send_bytes`): the length
/// prefix (4 bytes big-endian, or `-1` and 8 bytes past 2^31 - 1), then the
/// payload, in one write up to [`SINGLE_WRITE_MAX`] bytes of payload as
/// CPython does (two writes with Nagle's algorithm on would wait for the
/// peer's delayed ACK, about 40 ms), in two beyond; then a flush.
///
/// # Errors
/// The writer's I/O errors; after one, the stream may be mid-frame.
pub fn send_bytes<W: Write + ?Sized>(stream: &mut W, payload: &[u8]) -> io::Result<()> {
    stream.write_all(&frames::head(payload))?;
    let tail = frames::tail(payload);
    if !tail.is_empty() {
        stream.write_all(tail)?;
    }
    stream.flush()
}

/// CPython `Connection.recv_bytes(maxsize)`: one whole message.
///
/// `pending` holds bytes already read from the stream (start it with
/// [`AuthStream::leftover`], or use [`AuthStream::recv_bytes`]); they are
/// used first and removed once their message is returned. Returns
/// `Ok(None)` at a clean end of stream before a new message.
///
/// Resumable: a message's bytes stay in `pending` until it is whole, so
/// after an error from the stream (a read timeout, `WouldBlock`) nothing is
/// lost and the next call goes on. The buffer grows with the bytes that
/// actually arrive, never to the announced length up front (a peer cannot
/// make us reserve `maxsize` bytes with a 12-byte prefix), and reads never
/// go past the message. Reads interrupted by a signal are retried.
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
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        let want = match frames::take(pending, maxsize)? {
            Frame::Message(message) => return Ok(Some(message)),
            Frame::Need(want) => want,
        };
        let n = match stream.read(&mut chunk[..want]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            frames::clean_end(pending)?;
            return Ok(None);
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}
