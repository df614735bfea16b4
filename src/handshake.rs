//! The sans-IO interface every handshake machine shares.

use crate::status::{Finished, Outcome, Status};
use crate::Error;

/// The sans-IO interface of [`ServerHandshake`](crate::ServerHandshake) and
/// [`ClientHandshake`](crate::ClientHandshake).
///
/// A driving loop matches on [`status`](Self::status):
/// [`Status::Send`] → write the bytes, call [`sent`](Self::sent);
/// [`Status::NeedInput`] → read, call [`receive`](Self::receive) and keep
/// the bytes it did not consume; [`Status::Done`] → [`finish`](Self::finish);
/// [`Status::Failed`] → stop.
pub trait Handshake {
    /// What the machine needs next. Cheap; call it as often as you like.
    fn status(&self) -> Status<'_>;

    /// Feeds bytes read from the peer; returns how many were handshake
    /// bytes (0 to `input.len()`). Bytes not consumed are the caller's: keep
    /// them and pass them again after the pending output has been sent, or
    /// hand them to the application once the status is [`Status::Done`].
    /// Partial messages are buffered inside (fixed size, bounded lengths).
    ///
    /// Progress: when the status is [`Status::NeedInput`] and `input` is not
    /// empty, `receive` consumes at least one byte (a bad byte included: it
    /// is consumed, then the status is `Failed`), so a loop never stalls. It
    /// returns 0 only for empty input, while output is pending
    /// ([`Status::Send`]), or once the handshake is over.
    fn receive(&mut self, input: &[u8]) -> usize;

    /// Reports that the first `n` bytes of the [`Status::Send`] slice were
    /// written (partial writes are fine).
    ///
    /// # Errors
    /// [`Error::SentTooMuch`] if `n` exceeds the pending output (nothing changes).
    fn sent(&mut self, n: usize) -> Result<(), Error>;

    /// `true` once this side's last handshake message has been handed out
    /// (and nothing failed): bytes the application writes from now on
    /// follow the handshake on the stream, in order, and the peer reads them
    /// as application data. Always `true` at [`Status::Done`].
    ///
    /// Before `Done` it turns `true` for the native client once
    /// `ClientProof` is out (PROTOCOL.md, client step 2), the
    /// multiprocessing Listener once its reply is out, and the recipe's
    /// server once its challenge is out. Only the Listener has verified
    /// its peer by then ([`peer_verified`](Self::peer_verified)): whether
    /// to send before the peer is verified is the application's choice.
    fn may_send_application_data(&self) -> bool;

    /// `true` once this side has verified a MAC made by the peer with the
    /// shared key (and nothing failed since).
    fn peer_verified(&self) -> bool;

    /// The error the handshake failed with, as soon as it is known: also
    /// while its failure message (multiprocessing's `#FAILURE#`, the native
    /// reject `03 01`) is still pending as [`Status::Send`], which
    /// [`status`](Self::status) reports only once that message is sent.
    /// For logging the reason when the peer hangs up before the failure
    /// message could be written. `None` while the handshake runs and once
    /// it completed. Always an [`Origin::Peer`](crate::Origin::Peer) error.
    fn failure(&self) -> Option<Error> {
        match self.status() {
            Status::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Consumes a finished machine and hands over its outcome and, for the
    /// native profile, what its session secrets are derived from when
    /// asked ([`Finished::into_session`]), like snow's
    /// `into_transport_mode`.
    ///
    /// # Errors
    /// The handshake's own error if it failed; [`Error::NotFinished`] if the
    /// status is not [`Status::Done`] or [`Status::Failed`] yet, a failure
    /// message still pending included (the machine is dropped either way:
    /// call it once the status says the handshake is over). Through a
    /// `dyn Handshake`, keep the concrete type (an enum of
    /// `ServerHandshake` / `ClientHandshake`) to be able to finish.
    fn finish(self) -> Result<Finished, Error>
    where
        Self: Sized;

    /// Copies pending output into `out` and marks it sent; returns the
    /// number of bytes copied (0 when nothing is pending).
    fn write_output(&mut self, out: &mut [u8]) -> usize {
        let n = match self.status() {
            Status::Send(bytes) => {
                let n = bytes.len().min(out.len());
                out[..n].copy_from_slice(&bytes[..n]);
                n
            }
            _ => return 0,
        };
        match self.sent(n) {
            Ok(()) => n,
            Err(_) => 0,
        }
    }

    /// The outcome, once the status is [`Status::Done`].
    fn outcome(&self) -> Option<Outcome> {
        match self.status() {
            Status::Done(o) => Some(o),
            _ => None,
        }
    }
}

/// Defines a public machine type (`ServerHandshake`, `ClientHandshake`):
/// the wrapper around a [`Machine`](crate::machine::Machine), its
/// constructors for the role's profile trait, and the [`Handshake`] methods
/// and `Debug` delegated to the machine.
macro_rules! handshake_type {
    (
        $(#[$meta:meta])*
        $name:ident, $profile:ident, $build:ident, $random:literal, $example:literal
    ) => {
        $(#[$meta])*
        pub struct $name<K> {
            inner: $crate::machine::Machine<K>,
        }

        impl<K> $name<K> {
            #[doc = concat!(
                "A machine for `profile`'s settings holding its keys through `keys`, ",
                $random,
                " drawn from `rng` (the OS generator, `getrandom::SysRng`, or any other ",
                "`TryCryptoRng`).\n\n```\n",
                $example,
                "\n# Ok::<(), getrandom::Error>(())\n```\n\n# Errors\nThe generator's own error, if it fails."
            )]
            #[inline]
            pub fn new<P, R>(keys: K, profile: P, rng: &mut R) -> Result<Self, R::Error>
            where
                P: $crate::profile::$profile<K>,
                R: rand_core::TryCryptoRng + ?Sized,
            {
                use $crate::profile::Randomness;
                let mut random = P::Random::zeroed();
                // The recipe's client draws nothing: its RNG is not asked.
                if P::Random::LEN > 0 {
                    rng.try_fill_bytes(random.bytes_mut())?;
                }
                let machine = Self::with_pinned_random(keys, profile, &random);
                // The native randomness holds the ephemeral X25519 secret.
                zeroize::Zeroize::zeroize(random.bytes_mut());
                Ok(machine)
            }

            /// Like [`new`](Self::new), with the random bytes given: **for
            /// conformance vectors and tests**, which replay a transcript from
            /// pinned bytes. A challenge or nonce that repeats lets a recorded
            /// answer be replayed; production code draws them with `new`.
            #[inline(always)]
            pub fn with_pinned_random<P: $crate::profile::$profile<K>>(
                keys: K,
                profile: P,
                random: &P::Random,
            ) -> Self {
                $name {
                    inner: profile.$build(keys, random),
                }
            }
        }

        impl<K> $crate::Handshake for $name<K> {
            #[inline]
            fn status(&self) -> $crate::Status<'_> {
                self.inner.status()
            }

            #[inline]
            fn receive(&mut self, input: &[u8]) -> usize {
                self.inner.receive(input)
            }

            #[inline]
            fn sent(&mut self, n: usize) -> Result<(), $crate::Error> {
                self.inner.sent(n)
            }

            fn may_send_application_data(&self) -> bool {
                self.inner.may_send_application_data()
            }

            fn peer_verified(&self) -> bool {
                self.inner.peer_verified()
            }

            fn failure(&self) -> Option<$crate::Error> {
                self.inner.failure()
            }

            #[inline(always)]
            fn finish(self) -> Result<$crate::Finished, $crate::Error> {
                self.inner.finish()
            }
        }

        impl<K> core::fmt::Debug for $name<K> {
            /// The status only: no keys and no transcript state. A pending
            /// message (a challenge, a nonce, a tag) is shown as the bytes
            /// that go on the wire, which are public.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("status", &self.inner.status())
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use handshake_type;
