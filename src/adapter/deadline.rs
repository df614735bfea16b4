//! [`Deadline`]: a socket view whose reads and writes share one deadline.
//!
//! A per-read socket timeout alone lets a peer that drips one byte at a
//! time hold a handshake for a timeout per byte (a 256-byte message under a
//! 200 ms timeout: about 52 s); this view sets each operation's timeout to
//! the time left, so the whole exchange ends by the deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A socket whose read and write timeouts can be read and set:
/// `TcpStream` and, on Unix, `UnixStream` (and references to them).
pub trait Timeouts {
    /// `set_read_timeout` of the socket (`None`: no timeout).
    ///
    /// # Errors
    /// The socket's.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// `set_write_timeout` of the socket.
    ///
    /// # Errors
    /// The socket's.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// The read timeout now set.
    ///
    /// # Errors
    /// The socket's.
    fn read_timeout(&self) -> io::Result<Option<Duration>>;
    /// The write timeout now set.
    ///
    /// # Errors
    /// The socket's.
    fn write_timeout(&self) -> io::Result<Option<Duration>>;
}

macro_rules! socket_timeouts {
    ($t:ty) => {
        impl Timeouts for $t {
            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$t>::set_read_timeout(self, timeout)
            }
            fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$t>::set_write_timeout(self, timeout)
            }
            fn read_timeout(&self) -> io::Result<Option<Duration>> {
                <$t>::read_timeout(self)
            }
            fn write_timeout(&self) -> io::Result<Option<Duration>> {
                <$t>::write_timeout(self)
            }
        }
    };
}

socket_timeouts!(TcpStream);
#[cfg(unix)]
socket_timeouts!(std::os::unix::net::UnixStream);

impl<T: Timeouts + ?Sized> Timeouts for &T {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).write_timeout()
    }
}

impl<T: Timeouts + ?Sized> Timeouts for &mut T {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).write_timeout()
    }
}

/// `stream`, for reads and writes that must all finish by one instant.
///
/// Each read or write first sets the socket's timeout to the time left;
/// once none is left it fails with `TimedOut` without touching the socket.
/// The socket keeps the last timeout set: put yours back afterwards (the
/// `*_within` functions of the blocking adapter do).
#[derive(Debug)]
pub struct Deadline<S> {
    stream: S,
    /// `None` when `now + within` does not fit an [`Instant`]: then each
    /// operation gets `within`.
    end: Option<Instant>,
    within: Duration,
}

impl<S> Deadline<S> {
    /// A view of `stream` whose operations time out `within` from now.
    pub fn new(stream: S, within: Duration) -> Deadline<S> {
        Deadline {
            stream,
            end: Instant::now().checked_add(within),
            within,
        }
    }

    /// The time left, never zero (a socket refuses a zero timeout).
    ///
    /// # Errors
    /// `TimedOut` once the deadline has passed.
    pub fn left(&self) -> io::Result<Duration> {
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

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, its timeouts as last set.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: Read + Timeouts> Read for Deadline<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        self.stream.read(buf)
    }
}

impl<S: Write + Timeouts> Write for Deadline<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
