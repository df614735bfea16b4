//! What the blocking and the tokio `AuthStream`s share: the fields and the
//! accessors, written once, and [`Authenticated`], what is left of one
//! taken apart.

use std::vec::Vec;

use crate::native::Session;
use crate::Outcome;

/// A completed handshake apart from its stream (see `AuthStream::into_parts`).
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// What the handshake concluded.
    pub outcome: Outcome,
    /// Bytes read from the stream and not handed out yet (at first, the
    /// application's bytes that came with the last handshake message): to
    /// be processed, in order, before anything read next.
    pub leftover: Vec<u8>,
    /// The native profile's session secrets; `None` for the other profiles.
    pub session: Option<Session>,
}

/// Defines an authenticated stream type named `$name` with the fields and
/// accessors both adapters' streams have; `$doc` is its documentation.
macro_rules! auth_stream {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<S> {
            /// What the handshake concluded.
            pub outcome: $crate::Outcome,
            /// The native profile's session secrets (key id, suite,
            /// handshake hash, session keys, exporter), derived when the
            /// handshake completed; `None` for the other profiles.
            pub session: Option<$crate::native::Session>,
            stream: S,
            /// Bytes read from `stream` and not yet handed out: the
            /// leftover, then any part of a message `recv_bytes` has read.
            pending: std::vec::Vec<u8>,
        }

        impl<S> core::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("outcome", &self.outcome)
                    .field("session", &self.session)
                    .field("pending", &self.pending.len())
                    .finish_non_exhaustive()
            }
        }

        impl<S> $name<S> {
            /// The session is derived here, once, and what it came from
            /// (for the native profile without forward secrecy, the key's
            /// PRK) dropped: a stream lives as long as its connection.
            fn new(finished: $crate::Finished, stream: S, leftover: &[u8]) -> $name<S> {
                $name {
                    outcome: finished.outcome,
                    session: finished.into_session(),
                    stream,
                    pending: leftover.to_vec(),
                }
            }

            /// Bytes already read from the stream and not yet handed out:
            /// at first the application's bytes that arrived with the last
            /// handshake message (pipelined), then any part of a message
            /// that `recv_bytes` has read so far.
            #[must_use]
            pub fn leftover(&self) -> &[u8] {
                &self.pending
            }

            /// The stream.
            pub fn get_ref(&self) -> &S {
                &self.stream
            }

            /// The stream. Reading from it directly skips
            /// [`leftover`](Self::leftover).
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.stream
            }

            /// The stream, and the outcome, session and bytes read from the
            /// stream that were not handed out yet (to be processed before
            /// anything read next).
            pub fn into_parts(self) -> (S, $crate::adapter::Authenticated) {
                let auth = $crate::adapter::Authenticated {
                    outcome: self.outcome,
                    leftover: self.pending,
                    session: self.session,
                };
                (self.stream, auth)
            }

            /// Hands out up to `buf.len()` bytes of [`leftover`](Self::leftover);
            /// returns how many (0 when it is empty).
            fn take_leftover(&mut self, buf: &mut [u8]) -> usize {
                let n = buf.len().min(self.pending.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending.drain(..n);
                n
            }
        }
    };
}

pub(crate) use auth_stream;
