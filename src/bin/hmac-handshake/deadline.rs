//! A TCP stream view whose reads and writes share one deadline.
//!
//! A per-read socket timeout alone lets a client that drips one byte at a
//! time hold a handshake open for many timeouts; this view sets each
//! operation's timeout to the time left, so the whole handshake ends by the
//! deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `stream`, for reads and writes that must finish by `end`.
pub struct Deadline<'s> {
    stream: &'s TcpStream,
    /// `None` when `now + within` does not fit an [`Instant`] (`--timeout`
    /// is capped far below that, so only as a fallback): then each
    /// operation gets `within`.
    end: Option<Instant>,
    within: Duration,
}

impl<'s> Deadline<'s> {
    /// A view of `stream` that times out `within` from now.
    pub fn new(stream: &'s TcpStream, within: Duration) -> Deadline<'s> {
        Deadline {
            stream,
            end: Instant::now().checked_add(within),
            within,
        }
    }

    /// The time left, never zero (a zero socket timeout is refused).
    fn left(&self) -> io::Result<Duration> {
        let left = match self.end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => self.within,
        };
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        (&mut &*self.stream).read(buf)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        (&mut &*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&mut &*self.stream).flush()
    }
}
