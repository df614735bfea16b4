//! What the blocking and the tokio `AuthStream`s share: the fields and the
//! accessors, written once, and [`Authenticated`], what is left of one
//! taken apart.

use std::vec::Vec;

use core::fmt;

use crate::native::{Session, SessionSeed};
use crate::Outcome;

/// A completed handshake apart from its stream (see `AuthStream::into_parts`).
#[non_exhaustive]
pub struct Authenticated {
    /// What the handshake concluded.
    pub outcome: Outcome,
    /// Bytes read from the stream and not handed out yet (at first, the
    /// application's bytes that came with the last handshake message): to
    /// be processed, in order, before anything read next.
    pub leftover: Vec<u8>,
    pub(crate) seed: Option<SessionSeed>,
}

impl Authenticated {
    /// The native profile's session secrets, derived by this call (as
    /// [`Finished::session`](crate::Finished::session): each call derives
    /// the same bytes again); `None` for the other profiles.
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.seed.as_ref().map(SessionSeed::derive)
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("outcome", &self.outcome)
            .field("leftover", &self.leftover.len())
            .field("has_session", &self.seed.is_some())
            .finish_non_exhaustive()
    }
}

/// Defines an authenticated stream type named `$name` with the fields and
/// accessors both adapters' streams have; `$doc` is its documentation.
macro_rules! auth_stream {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<S> {
            /// What the handshake concluded.
            pub outcome: $crate::Outcome,
            /// What the native session secrets are derived from, on
            /// request ([`session`](Self::session)).
            seed: Option<$crate::native::SessionSeed>,
            stream: S,
            /// Bytes read from `stream` and not yet handed out: the
            /// leftover, then any part of a message `recv_bytes` has read.
            pending: std::vec::Vec<u8>,
        }

        impl<S> core::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("outcome", &self.outcome)
                    .field("has_session", &self.seed.is_some())
                    .field("pending", &self.pending.len())
                    .finish_non_exhaustive()
            }
        }

        impl<S> $name<S> {
            fn new(finished: $crate::Finished, stream: S, leftover: &[u8]) -> $name<S> {
                let (outcome, seed) = finished.into_parts();
                $name {
                    outcome,
                    seed,
                    stream,
                    pending: leftover.to_vec(),
                }
            }

            /// The native profile's session secrets (key id, suite,
            /// handshake hash, session keys, exporter), derived by this
            /// call (as [`Finished::session`](crate::Finished::session):
            /// each call derives the same bytes again); `None` for the
            /// other profiles.
            #[must_use]
            pub fn session(&self) -> Option<$crate::native::Session> {
                self.seed.as_ref().map($crate::native::SessionSeed::derive)
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
                    seed: self.seed,
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
