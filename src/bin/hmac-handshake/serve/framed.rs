//! The multiprocessing and native echo, message by message within the
//! [`Budget`]: the length prefix is read first (the handshake's leftover
//! first, as the authenticated stream yields it); a length over
//! `--max-message` or `--max-buffered` closes the connection; then the
//! message's share of the budget is taken, the payload is read into a
//! buffer that grows only as bytes arrive (the announced length is never
//! reserved up front), and the echo goes out as one write, prefix and
//! payload; then the share is given back.

use std::io;

use hmac_handshake::adapter::tokio::AuthStream;
use hmac_handshake::multiprocessing::{FrameHeader, HeaderDecoder};
use hmac_handshake::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use super::budget::Budget;
use super::echo::{within, End, Pace};

/// Most bytes read at once while looking for a length prefix (kept for
/// the next message when they go past it).
const CHUNK: usize = 4096;

/// An authenticated connection echoing frames.
pub struct Framed<'a, S> {
    /// The connection.
    pub auth: &'a mut AuthStream<S>,
    /// Its pace.
    pub pace: Pace,
    /// The memory messages may take.
    pub budget: &'a Budget,
    /// Turns `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// What reading a length prefix gave.
enum Prefix {
    /// A message of this many bytes follows.
    Len(u64),
    /// No message: why the echo ends.
    End(End),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<'_, S> {
    /// Echoes each message until the peer closes between messages, no
    /// message completes within `pace.idle` (waiting for the budget
    /// included), a length is refused, or the server shuts down (then a
    /// message already begun is still received and echoed).
    ///
    /// # Errors
    /// I/O errors, a bad length prefix, a stream that ends mid-message, a
    /// write that takes longer than `pace.write`.
    pub async fn run(mut self) -> io::Result<End> {
        // Bytes read past the last prefix: the start of a payload, or of
        // the next message.
        let mut carry = Vec::with_capacity(CHUNK);
        let mut draining = false;
        loop {
            let deadline = Instant::now() + self.pace.idle;
            let len = match self.prefix(&mut carry, deadline, &mut draining).await? {
                Prefix::Len(len) => len,
                Prefix::End(end) => return Ok(end),
            };
            if !self.budget.fits(len) {
                return Ok(End::OverBudget { len });
            }
            let Ok(share) = timeout_at(deadline, self.budget.take(len)).await else {
                return Ok(End::NoRoom { len });
            };
            let Ok(frame) = timeout_at(deadline, frame(self.auth, &mut carry, len)).await else {
                return Ok(End::Idle);
            };
            let frame = frame?;
            within(self.pace.write, async {
                self.auth.write_all(&frame).await?;
                self.auth.flush().await
            })
            .await?;
            drop(frame);
            drop(share);
        }
    }

    /// Reads a length prefix, from `carry` first, within `deadline`; while
    /// no byte of it has come, a shutdown ends the echo (`draining` is set
    /// once one was seen).
    async fn prefix(
        &mut self,
        carry: &mut Vec<u8>,
        deadline: Instant,
        draining: &mut bool,
    ) -> io::Result<Prefix> {
        let mut decoder = HeaderDecoder::new(self.budget.max_message());
        loop {
            if !carry.is_empty() {
                let decoded = match decoder.decode(carry) {
                    Ok(decoded) => decoded,
                    Err(Error::MessageTooLong { len, .. }) => {
                        return Ok(Prefix::End(End::TooLong { len }))
                    }
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                };
                carry.drain(..decoded.consumed);
                if let Some(len) = decoded.len {
                    return Ok(Prefix::Len(len));
                }
            }
            // Every byte of `carry` went into the decoder: it is empty.
            let begun = decoder.buffered() > 0;
            if *draining && !begun {
                return Ok(Prefix::End(End::Shutdown));
            }
            let read = if begun || *draining {
                timeout_at(deadline, self.auth.read_buf(carry)).await
            } else {
                tokio::select! {
                    biased;
                    // The read is cancellation-safe: nothing is lost.
                    _ = self.shutdown.wait_for(|stop| *stop) => {
                        *draining = true;
                        continue;
                    }
                    read = timeout_at(deadline, self.auth.read_buf(carry)) => read,
                }
            };
            let Ok(read) = read else {
                return Ok(Prefix::End(End::Idle));
            };
            if read? == 0 {
                return if begun {
                    Err(mid_message())
                } else {
                    Ok(Prefix::End(End::Closed))
                };
            }
        }
    }
}

/// The echo of a message of `len` bytes: its prefix, then the payload from
/// `carry` first and then from `auth`, read up to its end and no further.
async fn frame<S: AsyncRead + Unpin>(
    auth: &mut AuthStream<S>,
    carry: &mut Vec<u8>,
    len: u64,
) -> io::Result<Vec<u8>> {
    let header = FrameHeader::new(len);
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    let end = header.as_bytes().len() + len;
    let first = carry.len().min(len);
    let mut frame = Vec::with_capacity(header.as_bytes().len() + first.max(len.min(CHUNK)));
    frame.extend_from_slice(header.as_bytes());
    frame.extend(carry.drain(..first));
    while frame.len() < end {
        if frame.len() == frame.capacity() {
            // Doubling, never past the message's end.
            frame.reserve_exact((end - frame.len()).min(frame.capacity()));
        }
        let want = (end - frame.len()) as u64;
        if (&mut *auth).take(want).read_buf(&mut frame).await? == 0 {
            return Err(mid_message());
        }
    }
    Ok(frame)
}

/// The error of a stream that ends in the middle of a message.
fn mid_message() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the stream ended in the middle of a message",
    )
}
