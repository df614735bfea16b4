//! Shared keys, pre-keyed once: the HMAC inner/outer pad states (RFC 2104
//! section 2) are computed when the key is built and cloned for every tag.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac, SimpleHmac};

use crate::{Digest, Error, Tag};

/// One digest's keyed HMAC state: the hash already fed `K XOR ipad`
/// (and, for the block-level `Hmac`, `K XOR opad`).
///
/// SHA-2 and MD5 use `hmac::Hmac`; SHA-3 uses `hmac::SimpleHmac`, since
/// `hmac` 0.13 runs only eager block hashes through `Hmac`. With the
/// `zeroize` features on, the hash states are wiped on drop; `SimpleHmac`
/// also keeps a copy of `K XOR opad` that `hmac` 0.13 does not wipe.
#[derive(Clone)]
pub(crate) enum MacState {
    Md5(Hmac<md5::Md5>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
    Sha3_256(SimpleHmac<sha3::Sha3_256>),
    Sha3_384(SimpleHmac<sha3::Sha3_384>),
}

fn keyed<M: KeyInit>(key: &[u8]) -> M {
    // HMAC takes keys of any length (RFC 2104 section 2: longer keys are hashed).
    match M::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn tag_of<M: Mac + Clone>(state: &M, parts: &[&[u8]]) -> Tag {
    let mut m = state.clone();
    for part in parts {
        m.update(part);
    }
    Tag::from_slice(m.finalize().as_bytes())
}

fn verify_with<M: Mac + Clone>(state: &M, parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut m = state.clone();
    for part in parts {
        m.update(part);
    }
    // Constant time in the tag bytes: digest's `verify_slice` compares with
    // `ctutils` (cmov-based), after the public length check.
    m.verify_slice(tag).is_ok()
}

impl MacState {
    pub(crate) fn new(digest: Digest, key: &[u8]) -> MacState {
        match digest {
            Digest::Md5 => MacState::Md5(keyed(key)),
            Digest::Sha256 => MacState::Sha256(keyed(key)),
            Digest::Sha384 => MacState::Sha384(keyed(key)),
            Digest::Sha512 => MacState::Sha512(keyed(key)),
            Digest::Sha3_256 => MacState::Sha3_256(keyed(key)),
            Digest::Sha3_384 => MacState::Sha3_384(keyed(key)),
        }
    }

    /// HMAC over the concatenation of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        match self {
            MacState::Md5(m) => tag_of(m, parts),
            MacState::Sha256(m) => tag_of(m, parts),
            MacState::Sha384(m) => tag_of(m, parts),
            MacState::Sha512(m) => tag_of(m, parts),
            MacState::Sha3_256(m) => tag_of(m, parts),
            MacState::Sha3_384(m) => tag_of(m, parts),
        }
    }

    /// Constant-time check of `tag` against HMAC over `parts`.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        match self {
            MacState::Md5(m) => verify_with(m, parts, tag),
            MacState::Sha256(m) => verify_with(m, parts, tag),
            MacState::Sha384(m) => verify_with(m, parts, tag),
            MacState::Sha512(m) => verify_with(m, parts, tag),
            MacState::Sha3_256(m) => verify_with(m, parts, tag),
            MacState::Sha3_384(m) => verify_with(m, parts, tag),
        }
    }
}

/// A shared secret, keyed once for every [`Digest`].
///
/// Any length is accepted, including empty and longer than the hash block
/// (such keys are hashed first, RFC 2104 section 2), exactly as CPython's
/// `hmac.new(key, msg, digest)` does. Building a `Key` runs the HMAC key
/// schedule for all six digests once (about 12 compression calls); every
/// handshake that borrows it only clones the keyed states. The raw key bytes
/// are not kept. The states are zeroized on drop (see the note on SHA-3 in
/// the crate docs), and `Debug` prints no key material.
///
/// Size: 2112 bytes on x86_64, inline (`size_of::<Key>()`; see the README).
#[derive(Clone)]
pub struct Key {
    states: [MacState; 6],
}

impl Key {
    /// Keys HMAC with `secret` for every digest. Never fails.
    #[must_use]
    pub fn new(secret: &[u8]) -> Key {
        Key {
            states: Digest::ALL.map(|d| MacState::new(d, secret)),
        }
    }

    fn state(&self, digest: Digest) -> &MacState {
        &self.states[digest.index()]
    }

    /// HMAC-`digest`(key, `message`): the RFC 2104 tag, [`Digest::tag_len`] bytes.
    #[must_use]
    pub fn tag(&self, digest: Digest, message: &[u8]) -> Tag {
        self.state(digest).tag(&[message])
    }

    /// Checks `tag` against HMAC-`digest`(key, `message`) in constant time
    /// (the length is not secret and is checked first).
    ///
    /// # Errors
    /// [`Error::TagLength`] if `tag` is not [`Digest::tag_len`] bytes,
    /// [`Error::BadTag`] if it does not match.
    pub fn verify(&self, digest: Digest, message: &[u8], tag: &[u8]) -> Result<(), Error> {
        if tag.len() != digest.tag_len() {
            return Err(Error::TagLength {
                digest,
                expected: digest.tag_len(),
                got: tag.len(),
            });
        }
        if self.state(digest).verify(&[message], tag) {
            Ok(())
        } else {
            Err(Error::BadTag)
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}
