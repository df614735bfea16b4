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
//! MD5 is off by default: a legacy peer then fails with
//! [`Error::Md5NotAllowed`](crate::Error). With
//! [`Config::allow_md5`] on, this side accepts exactly what CPython 3.13
//! accepts. After the handshake, [`FrameHeader`] and [`HeaderDecoder`] frame
//! messages the way `send_bytes` / `recv_bytes` do.

pub mod frame;
pub(crate) mod machine;
pub mod message;

pub use frame::{Decoded, FrameHeader, HeaderDecoder, HANDSHAKE_MAX_MESSAGE};

use crate::{Digest, Error};

/// Settings of one side of the multiprocessing profile.
///
/// `Config::default()` offers `{sha256}` like CPython 3.12+'s
/// `deliver_challenge(connection, authkey, digest_name='sha256')` and refuses
/// MD5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The digest named in the challenge we deliver (`digest_name`): one of
    /// [`message::ALLOWED_DIGESTS`]. Default [`Digest::Sha256`].
    pub digest: Digest,
    /// Deliver a legacy challenge (20 unprefixed random bytes, as Python
    /// <= 3.11 does) instead of a `{digest}` one. Needs `allow_md5`.
    pub legacy_challenge: bool,
    /// Accept and produce HMAC-MD5: legacy challenges and replies, and
    /// `{md5}`. Needed for Python 2.7 to 3.11 peers. Default `false`.
    pub allow_md5: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            digest: Digest::Sha256,
            legacy_challenge: false,
            allow_md5: false,
        }
    }
}

impl Config {
    /// Settings for Python 2.7 to 3.11 peers as well as 3.12+: MD5 allowed,
    /// `{sha256}` challenges (which legacy peers answer with raw MD5).
    #[must_use]
    pub fn with_md5() -> Config {
        Config {
            allow_md5: true,
            ..Config::default()
        }
    }

    /// Random bytes a machine with these settings needs: 20 for a legacy
    /// challenge, else 40 (`MESSAGE_LENGTH`). Server and client alike.
    #[must_use]
    pub fn random_len(&self) -> usize {
        if self.legacy_challenge {
            message::MD5ONLY_MESSAGE_LENGTH
        } else {
            message::MESSAGE_LENGTH
        }
    }

    /// The digest named in our challenge, or `None` for a legacy challenge.
    pub(crate) fn challenge_digest(&self) -> Option<Digest> {
        (!self.legacy_challenge).then_some(self.digest)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::UnknownDigest`] when `digest` is not one CPython allows;
    /// [`Error::Md5NotAllowed`] when the challenge would use MD5 (legacy or
    /// `{md5}`) without `allow_md5`.
    pub fn check(&self) -> Result<(), Error> {
        if !message::ALLOWED_DIGESTS.contains(&self.digest) {
            return Err(Error::UnknownDigest);
        }
        let md5 = self.legacy_challenge || self.digest == Digest::Md5;
        if md5 && !self.allow_md5 {
            return Err(Error::Md5NotAllowed);
        }
        Ok(())
    }
}
