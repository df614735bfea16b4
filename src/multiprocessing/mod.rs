//! CPython `multiprocessing.connection` authentication, byte-exact.
//!
//! `Listener(address, authkey=...)` and `Client(address, authkey=...)` run a
//! mutual challenge/response over the connection's own framing
//! ([`frame`]): the Listener delivers a challenge and checks the reply, then
//! answers the Client's challenge; the Client does the same in the other
//! order. Six frames, three round trips.
//!
//! Two generations are on the wire:
//! - **legacy** (Python 2.7 to 3.11): the challenge is `#CHALLENGE#` and 20
//!   random bytes; the reply is the raw 16-byte HMAC-MD5 of those 20 bytes.
//! - **modern** (Python 3.12+): the challenge is `#CHALLENGE#{sha256}` and 40
//!   random bytes; the reply is `{sha256}` and the HMAC-SHA256 of everything
//!   after `#CHALLENGE#`, prefix included. A 3.12+ peer still answers a legacy
//!   challenge with raw MD5, and accepts a raw MD5 reply from a legacy peer.
//!
//! MD5 is off by default ([`Config::new`]): a legacy peer then fails with
//! [`Error::Md5NotAllowed`](crate::Error). With [`Config::with_md5`], this
//! side accepts exactly what CPython 3.13 accepts. After the handshake, [`FrameHeader`] and [`HeaderDecoder`] frame
//! messages the way `send_bytes` / `recv_bytes` do.

pub mod frame;
pub(crate) mod machine;
pub mod message;

pub use frame::{Decoded, FrameHeader, HeaderDecoder, HANDSHAKE_MAX_MESSAGE};

use core::borrow::Borrow;

use crate::machine::{Machine, Proto};
use crate::profile::{sealed, ClientProfile, Profile, ServerProfile};
use crate::{Digest, Error, Key};
use machine::Role;

/// Settings of one side of the multiprocessing profile: the challenge it
/// delivers and whether it accepts HMAC-MD5. Built only through the
/// constructors below, so a machine never holds settings CPython would
/// refuse.
///
/// Both roles draw 40 random bytes (`[u8; 40]`, CPython 3.12+
/// `MESSAGE_LENGTH`); a legacy challenge uses the first 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The digest named in our challenge; `None` for a legacy challenge.
    challenge: Option<Digest>,
    allow_md5: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Config {
    /// CPython 3.12+'s defaults: `{sha256}` challenges, like
    /// `deliver_challenge(connection, authkey, digest_name='sha256')`, and
    /// MD5 refused (a Python 2.7 to 3.11 peer fails with
    /// [`Error::Md5NotAllowed`]).
    #[must_use]
    pub const fn new() -> Config {
        Config {
            challenge: Some(Digest::Sha256),
            allow_md5: false,
        }
    }

    /// For Python 2.7 to 3.11 peers as well as 3.12+: `{sha256}` challenges
    /// (which legacy peers answer with raw MD5), MD5 accepted. This side then
    /// accepts exactly what CPython 3.13 accepts.
    #[must_use]
    pub const fn with_md5() -> Config {
        Config {
            challenge: Some(Digest::Sha256),
            allow_md5: true,
        }
    }

    /// Like Python 2.7 to 3.11: legacy challenges (20 unprefixed random
    /// bytes, answered with a raw 16-byte HMAC-MD5), MD5 accepted.
    #[must_use]
    pub const fn legacy() -> Config {
        Config {
            challenge: None,
            allow_md5: true,
        }
    }

    /// These settings with `{digest}` challenges (`digest_name`).
    ///
    /// # Errors
    /// [`Error::UnsupportedDigest`] for a digest outside
    /// [`message::ALLOWED_DIGESTS`] (CPython's `_ALLOWED_DIGESTS`: SHA-512
    /// is not one); [`Error::Md5Disabled`] for [`Digest::Md5`] on settings
    /// that do not allow MD5 (start from [`Config::with_md5`]).
    pub fn with_digest(self, digest: Digest) -> Result<Config, Error> {
        if !message::ALLOWED_DIGESTS.contains(&digest) {
            return Err(Error::UnsupportedDigest(digest));
        }
        if digest == Digest::Md5 && !self.allow_md5 {
            return Err(Error::Md5Disabled);
        }
        Ok(Config {
            challenge: Some(digest),
            ..self
        })
    }

    /// The digest named in our challenge, or `None` for a legacy challenge.
    #[must_use]
    pub const fn challenge_digest(&self) -> Option<Digest> {
        self.challenge
    }

    /// Whether HMAC-MD5 is produced and accepted (legacy challenges and
    /// replies, `{md5}`).
    #[must_use]
    pub const fn allow_md5(&self) -> bool {
        self.allow_md5
    }

    /// Random bytes of the challenge: 20 for a legacy challenge, else 40.
    #[must_use]
    pub const fn challenge_len(&self) -> usize {
        match self.challenge {
            None => message::MD5ONLY_MESSAGE_LENGTH,
            Some(_) => message::MESSAGE_LENGTH,
        }
    }

    #[inline(always)]
    fn machine<K: Borrow<Key>>(
        self,
        keys: K,
        role: Role,
        random: &[u8; message::MESSAGE_LENGTH],
    ) -> Machine<K> {
        Machine::new(keys, |_, core| {
            let m = machine::Machine::new(self, role, &random[..self.challenge_len()], core);
            Proto::Multiprocessing(m, <K as Borrow<Key>>::borrow)
        })
    }
}

impl sealed::Sealed for Config {}

/// `Listener.accept()`: deliver a challenge, then answer the Client's.
impl<K: Borrow<Key>> ServerProfile<K> for Config {
    type Random = [u8; message::MESSAGE_LENGTH];
    const PROFILE: Profile = Profile::Multiprocessing;

    #[inline(always)]
    fn server(self, keys: K, random: &Self::Random) -> Machine<K> {
        self.machine(keys, Role::Listener, random)
    }
}

/// `Client()`: answer the Listener's challenge, then deliver one.
impl<K: Borrow<Key>> ClientProfile<K> for Config {
    type Random = [u8; message::MESSAGE_LENGTH];
    const PROFILE: Profile = Profile::Multiprocessing;

    #[inline(always)]
    fn client(self, keys: K, random: &Self::Random) -> Machine<K> {
        self.machine(keys, Role::Client, random)
    }
}
