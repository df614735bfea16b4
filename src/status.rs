//! What a handshake machine wants next, and what it concluded.

use core::fmt;

use crate::native::{KeyId, Session, SessionSeed, Suite};
use crate::{Digest, Error, Profile};

/// What a [`ServerHandshake`](crate::ServerHandshake) or
/// [`ClientHandshake`](crate::ClientHandshake) needs from its caller next.
///
/// Match on it in a loop, like httparse's `Status::Partial`/`Complete` or
/// rustls' unbuffered `ConnectionState`:
/// - [`Status::Send`]: write these bytes to the peer, then report how many
///   were written with `sent(n)` (partial writes are fine);
/// - [`Status::NeedInput`]: read from the peer and pass the bytes to
///   `receive`, which returns how many it consumed. Given at least one byte
///   in this state, `receive` consumes at least one: a loop never stalls;
/// - [`Status::Done`]: the handshake is over; bytes `receive` did not
///   consume belong to the application; `finish` hands over the result;
/// - [`Status::Failed`]: the handshake failed; the error stays (always an
///   [`Origin::Peer`](crate::Origin::Peer) error).
///
/// Non-exhaustive: keep a `_` arm that treats an unknown status as a failure.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status<'a> {
    /// The machine waits for more bytes from the peer.
    NeedInput,
    /// Bytes to write to the peer (a borrowed slice of the machine's fixed
    /// output buffer, at most one protocol message, 1 to 162 bytes).
    Send(&'a [u8]),
    /// The handshake completed.
    Done(Outcome),
    /// The handshake failed. Any message the protocol sends on failure
    /// (multiprocessing's `#FAILURE#`, the native reject verdict) was handed
    /// out as [`Status::Send`] first.
    Failed(Error),
}

/// Whether the peer confirmed that it accepted our proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The peer said so (multiprocessing `#WELCOME#`, or a verified server tag).
    Confirmed,
    /// The protocol gives no verdict to this side. The recipe's client: a
    /// server that rejected us just closes, so the first read after the
    /// handshake tells. The native server: its own proof (the server tag) is
    /// checked by the client, which says nothing back; a client that
    /// rejected it closes the connection.
    Unknown,
    /// This side proved nothing (the recipe's server only checks the client).
    NotApplicable,
}

/// The profile a handshake ran and the algorithms it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// The recipe: the digest of the client's tag (both sides know it from
    /// their configuration).
    Recipe {
        /// HMAC digest of the client's tag.
        digest: Digest,
    },
    /// CPython multiprocessing: the digest of the peer's reply we verified.
    Multiprocessing {
        /// HMAC digest of the peer's reply (MD5 for a legacy reply).
        digest: Digest,
        /// `true` when the peer used CPython's legacy (Python <= 3.11)
        /// format: an unprefixed 20-byte challenge or a raw 16-byte HMAC-MD5
        /// reply.
        legacy: bool,
    },
    /// The native protocol: the server's suite and the key id the client proved.
    Native {
        /// The suite the server chose.
        suite: Suite,
        /// The key id of the client's key.
        key_id: KeyId,
    },
}

impl Scheme {
    /// The profile that ran.
    #[must_use]
    pub const fn profile(&self) -> Profile {
        match self {
            Scheme::Recipe { .. } => Profile::Recipe,
            Scheme::Multiprocessing { .. } => Profile::Multiprocessing,
            Scheme::Native { .. } => Profile::Native,
        }
    }

    /// The hash function of the MACs: the digest, or the suite's.
    #[must_use]
    pub const fn digest(&self) -> Digest {
        match self {
            Scheme::Recipe { digest } | Scheme::Multiprocessing { digest, .. } => *digest,
            Scheme::Native { suite, .. } => suite.digest(),
        }
    }
}

/// The result of a completed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// `true` when this side verified a MAC made by the peer with the shared
    /// key. `false` only for the recipe's client, which verifies nothing.
    pub peer_authenticated: bool,
    /// Whether the peer confirmed our own proof.
    pub confirmation: Confirmation,
    /// The profile and algorithms used.
    pub scheme: Scheme,
    /// Handshake bytes consumed from the peer over the whole handshake.
    pub consumed: usize,
}

/// What a finished machine hands over ([`Handshake::finish`](crate::Handshake::finish)):
/// the machine itself is gone, so nothing of its nonces or key handle stays
/// behind in a slab slot or a task.
///
/// For the native profile it also holds what the session secrets are
/// derived from, zeroized on drop: the secrets themselves are derived only
/// when you ask ([`into_session`](Self::into_session) or
/// [`session`](Self::session)), so an application that only needs the peer
/// authenticated never pays for them.
///
/// **Do not keep a native `Finished` around.** Without the forward-secrecy
/// mode, what it holds is the key's PRK, which is as good as the key (it
/// makes both roles' tags), and it holds it until it is dropped or
/// consumed by `into_session`, however the keyring changed meanwhile. Take
/// the session, or drop it. In the forward-secrecy mode it holds only the
/// session's own PRK (`PRK_fs`).
#[non_exhaustive]
pub struct Finished {
    /// What the handshake concluded.
    pub outcome: Outcome,
    seed: Option<SessionSeed>,
}

impl Finished {
    #[inline(always)]
    pub(crate) fn new(outcome: Outcome, seed: Option<SessionSeed>) -> Finished {
        Finished { outcome, seed }
    }

    /// The native profile's session secrets (PROTOCOL.md, "Session
    /// secrets": `handshake_hash` and three HKDF-Expands, both sides get
    /// equal values), derived by this call; what they were derived from is
    /// zeroized as `self` is dropped. `None` for the other profiles.
    ///
    /// Costs about 11 compressions of the suite's hash per side
    /// (HMAC-SHA-256: 22 blocks, about 2.5 us for both sides in
    /// `cargo bench --bench handshake -- native_hmac-sha256`).
    #[must_use]
    pub fn into_session(self) -> Option<Session> {
        self.session()
    }

    /// [`into_session`](Self::into_session) without consuming: each call
    /// derives the same bytes again, and `self` keeps what they come from
    /// (see above: drop it soon).
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.seed.as_ref().map(SessionSeed::derive)
    }

    /// `true` when there is a session to derive (the native profile),
    /// without deriving it.
    #[must_use]
    pub fn has_session(&self) -> bool {
        self.seed.is_some()
    }
}

impl fmt::Debug for Finished {
    /// The outcome, and whether a session can be derived: never a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finished")
            .field("outcome", &self.outcome)
            .field("has_session", &self.has_session())
            .finish_non_exhaustive()
    }
}
