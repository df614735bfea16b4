//! After the handshake: echo each message back (frames within the budget:
//! [`Framed`]), closing a connection that completes no message for
//! `--idle-timeout`, and at shutdown once the message in progress (if any)
//! is echoed.

use std::future::Future;
use std::io;
use std::time::Duration;

use hmac_handshake::adapter::tokio::AuthStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::timeout;

use super::budget::Budget;
use super::framed::Framed;
use crate::args::DEFAULT_MAX_MESSAGE;

/// Largest multiprocessing or native message `connect` reads back, in
/// bytes: the default of `serve --max-message`.
pub const MAX_MESSAGE: u64 = DEFAULT_MAX_MESSAGE as u64;

/// The pace an authenticated connection is held to.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// `--idle-timeout`: longest wait for a whole message (recipe: a byte).
    pub idle: Duration,
    /// `--timeout`: longest write of one echo (a peer that stops reading).
    pub write: Duration,
}

/// Why an echo loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The peer closed the connection between messages.
    Closed,
    /// No message completed within the idle timeout.
    Idle,
    /// The server is shutting down, and no message was in progress.
    Shutdown,
    /// A message announced this many bytes, over `--max-message`.
    TooLong {
        /// Its length.
        len: u64,
    },
    /// A message announced this many bytes, over `--max-buffered`.
    OverBudget {
        /// Its length.
        len: u64,
    },
    /// A message of this many bytes found no room in `--max-buffered`
    /// within the idle timeout.
    NoRoom {
        /// Its length.
        len: u64,
    },
}

/// An authenticated connection being echoed.
pub struct Echo<'a, S> {
    /// The connection.
    pub auth: &'a mut AuthStream<S>,
    /// Its pace.
    pub pace: Pace,
    /// The memory messages may take.
    pub budget: &'a Budget,
    /// Turns `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Echo<'_, S> {
    /// Multiprocessing and native: each message echoed within the budget
    /// (see [`Framed`]).
    ///
    /// # Errors
    /// I/O errors, a bad frame, a write that takes longer than `pace.write`.
    pub async fn frames(self) -> io::Result<End> {
        Framed {
            auth: self.auth,
            pace: self.pace,
            budget: self.budget,
            shutdown: self.shutdown,
        }
        .run()
        .await
    }

    /// Recipe: echo raw bytes, the handshake's leftover first, until the
    /// peer closes, idles (no byte for `pace.idle`) or the server shuts
    /// down.
    ///
    /// # Errors
    /// I/O errors, a write that takes longer than `pace.write`.
    pub async fn raw(mut self) -> io::Result<End> {
        let (pace, auth) = (self.pace, &mut *self.auth);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read = tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|stop| *stop) => return Ok(End::Shutdown),
                read = timeout(pace.idle, auth.read(&mut buf)) => read,
            };
            let Ok(read) = read else {
                return Ok(End::Idle);
            };
            let n = read?;
            if n == 0 {
                return Ok(End::Closed);
            }
            let chunk = buf.get(..n).unwrap_or_default();
            within(pace.write, auth.write_all(chunk)).await?;
        }
    }
}

/// Runs `write` for at most `limit`.
pub async fn within(
    limit: Duration,
    write: impl Future<Output = io::Result<()>>,
) -> io::Result<()> {
    timeout(limit, write).await.unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the peer did not take our echo within {}s (--timeout)",
                limit.as_secs_f64()
            ),
        ))
    })
}
