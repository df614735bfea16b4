//! Tokio adapter (feature `tokio`): server and client authentication for
//! every profile over any `AsyncRead + AsyncWrite` (a `TcpStream`, a
//! `UnixStream`, a TLS stream, an in-memory duplex), with a whole-handshake
//! deadline built in, returning an [`AuthStream`] that reads the pipelined
//! leftover first; and CPython's `send_bytes` / `recv_bytes` framing.
//!
//! The handshake itself is the sans-IO machine of the profile; this module
//! only moves its bytes. Randomness comes from the OS RNG (`getrandom`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use hmac_handshake::adapter::tokio::server_authenticate;
//! use hmac_handshake::{multiprocessing, Key};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = Arc::new(Key::new(b"secret shared key"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! loop {
//!     let (socket, _) = listener.accept().await?;
//!     let key = Arc::clone(&key);
//!     tokio::spawn(async move {
//!         let config = multiprocessing::Config::new();
//!         let within = Duration::from_secs(10);
//!         let Ok(mut conn) = server_authenticate(socket, key, config, within).await else {
//!             return; // wrong key, a silent peer, a closed connection
//!         };
//!         while let Ok(Some(message)) = conn.recv_bytes(1 << 20).await {
//!             if conn.send_bytes(&message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # }
//! ```

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::time::Duration;
use std::vec::Vec;

use getrandom::SysRng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

pub use super::error::AuthError;
use super::frames::{self, Frame, READ_CHUNK};
use super::stream::auth_stream;
pub use super::stream::Authenticated;
use crate::machine::OUT_CAP;
use crate::{ClientHandshake, ClientProfile, Handshake, ServerHandshake, ServerProfile, Status};

auth_stream! {
    /// An authenticated async stream: the stream the handshake ran on, with
    /// what the handshake concluded and the bytes read past its last
    /// message.
    ///
    /// [`AsyncRead`] yields those leftover bytes first, then the stream's,
    /// so no application byte pipelined behind the handshake is lost;
    /// [`AsyncWrite`] goes straight to the stream.
    /// [`recv_bytes`](Self::recv_bytes) and [`send_bytes`](Self::send_bytes)
    /// speak CPython's framing over it.
    AuthStream
}

impl<S: AsyncRead + Unpin> AuthStream<S> {
    /// CPython `Connection.recv_bytes(maxsize)`: one whole message, or
    /// `Ok(None)` at a clean end of stream between messages.
    ///
    /// **Cancellation-safe**: the bytes of a message read so far stay in
    /// this stream until the message is whole, so a `recv_bytes` future
    /// dropped at an `.await` (in `select!`, or by `tokio::time::timeout`)
    /// loses nothing and the next call goes on from them. Reads never go
    /// past the message; the buffer grows only with bytes that arrive.
    ///
    /// # Errors
    /// `InvalidData` for a bad or oversized length prefix (checked before
    /// any payload is read, like CPython's `_bad_message_length`),
    /// `UnexpectedEof` for a stream that ends mid-message, and the
    /// stream's errors.
    pub async fn recv_bytes(&mut self, maxsize: u64) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let want = match frames::take(&mut self.pending, maxsize)? {
                Frame::Message(message) => return Ok(Some(message)),
                Frame::Need(want) => want,
            };
            // The only await: cancelled here, nothing has been read.
            let n = self.stream.read(&mut chunk[..want]).await?;
            if n == 0 {
                frames::clean_end(&self.pending)?;
                return Ok(None);
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}

impl<S: AsyncWrite + Unpin> AuthStream<S> {
    /// CPython `Connection.send_bytes(payload)` (`_send_bytes`): the length
    /// prefix and, up to [`SINGLE_WRITE_MAX`](super::blocking::SINGLE_WRITE_MAX)
    /// bytes, the payload in one write (as CPython does, so Nagle's
    /// algorithm does not wait for a delayed ACK), in two beyond; then a
    /// flush.
    ///
    /// **Not cancellation-safe**: a future dropped mid-write may leave part
    /// of a frame on the stream, which must then be closed.
    ///
    /// # Errors
    /// The stream's I/O errors; after one, the stream may be mid-frame.
    pub async fn send_bytes(&mut self, payload: &[u8]) -> io::Result<()> {
        self.stream.write_all(&frames::head(payload)).await?;
        let tail = frames::tail(payload);
        if !tail.is_empty() {
            self.stream.write_all(tail).await?;
        }
        self.stream.flush().await
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.take_leftover(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Runs any [`Handshake`] machine to completion over `stream`, all of it
/// within `within` from now (a peer that drips one byte at a time cannot
/// stretch it), then [`finish`](Handshake::finish)es it.
///
/// Writes are flushed once a message is out. The machine is consumed; on
/// failure it and the stream are dropped (which closes a socket). The
/// future is `Send` when the machine and the stream are.
///
/// # Errors
/// [`AuthError::Timeout`] when `within` passes first; otherwise see
/// [`AuthError`]. A protocol failure message (`#FAILURE#`, the native
/// reject verdict) is written before the error is returned.
pub async fn drive<H, S>(
    machine: H,
    stream: S,
    within: Duration,
) -> Result<AuthStream<S>, AuthError>
where
    H: Handshake,
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(within, run(machine, stream))
        .await
        .unwrap_or(Err(AuthError::Timeout))
}

async fn run<H, S>(mut machine: H, mut stream: S) -> Result<AuthStream<S>, AuthError>
where
    H: Handshake,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = [0u8; READ_CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    // Pending output is copied out of the machine before each write, so the
    // future holds no borrow of it across an await (no `Sync` needed): up to
    // `OUT_CAP` bytes at a time, the largest message of this crate's
    // machines; a machine of your own with more pending is written in parts
    // (`sent` takes partial writes).
    let mut out = [0u8; OUT_CAP];
    loop {
        let len = match machine.status() {
            Status::Send(bytes) => {
                let len = bytes.len().min(OUT_CAP);
                out[..len].copy_from_slice(&bytes[..len]);
                Some(len)
            }
            Status::NeedInput => None,
            Status::Done(_) => {
                let finished = machine.finish()?;
                return Ok(AuthStream::new(finished, stream, &buf[start..end]));
            }
            Status::Failed(e) => return Err(AuthError::Handshake(e)),
        };
        match len {
            Some(len) => {
                let n = match stream.write(&out[..len]).await {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => other?,
                };
                if n == 0 {
                    return Err(AuthError::Closed);
                }
                machine.sent(n)?;
                if !matches!(machine.status(), Status::Send(_)) {
                    stream.flush().await?;
                }
            }
            None => {
                if start == end {
                    let n = match stream.read(&mut buf).await {
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
        }
    }
}

/// The server side of any profile over `stream`, all within `within`: the
/// recipe's `server_authenticate`, CPython's `Listener.accept()`
/// authentication (`deliver_challenge` then `answer_challenge`), or the
/// native server (PROTOCOL.md) with a keyring or any [`KeyLookup`]; `keys`
/// as the profile needs them (see [`ServerProfile`]). For the native
/// profile, [`AuthStream::session`] holds the session secrets.
///
/// # Errors
/// [`AuthError`]: the peer failed or was too slow, or I/O did.
///
/// [`KeyLookup`]: crate::native::KeyLookup
pub async fn server_authenticate<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
    within: Duration,
) -> Result<AuthStream<S>, AuthError>
where
    P: ServerProfile<K>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = ServerHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream, within).await
}

/// The client side of any profile over `stream`, all within `within`: the
/// recipe's `client_authenticate`, CPython's `Client()` authentication
/// (`answer_challenge` then `deliver_challenge`), or the native client
/// (returning once the server's tag is verified).
///
/// # Errors
/// [`AuthError`]: the peer failed, rejected us
/// (`AuthError::Handshake(Error::PeerRejected)`) or was too slow, or I/O did.
///
/// [`Error`]: crate::Error
pub async fn client_authenticate<K, P, S>(
    stream: S,
    keys: K,
    profile: P,
    within: Duration,
) -> Result<AuthStream<S>, AuthError>
where
    P: ClientProfile<K>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = ClientHandshake::new(keys, profile, &mut SysRng).map_err(AuthError::Random)?;
    drive(machine, stream, within).await
}
