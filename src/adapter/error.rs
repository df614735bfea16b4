//! [`AuthError`]: why an adapter's handshake failed, for the blocking and
//! the tokio adapters alike.

use std::fmt;
use std::io;

use crate::Error;

/// Why a handshake run by an adapter failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// The protocol failed: wrong key, tampering, a peer of another
    /// protocol. See [`Error`].
    Handshake(Error),
    /// The whole-handshake deadline passed, or a read or write hit the
    /// socket's own timeout (`WouldBlock` / `TimedOut`): the peer is silent
    /// or slow.
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
            AuthError::Timeout => {
                f.write_str("handshake timed out: the peer was silent or too slow")
            }
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
