//! The shared key of the recipe and multiprocessing profiles, pre-keyed
//! once for every digest.

use core::fmt;

use crate::mac::MacState;
use crate::wipe::scrub_stack;
use crate::{Digest, Error, Tag};

/// A shared secret, keyed once for every [`Digest`].
///
/// Any length is accepted, including empty and longer than the hash block
/// (such keys are hashed first, RFC 2104 section 2), exactly as CPython's
/// `hmac.new(key, msg, digest)` does. Building a `Key` runs the HMAC key
/// schedule for all six digests once (about 12 compression calls); every
/// handshake only clones the keyed states. The raw key bytes are not kept
/// (but for keys up to the SHA-3 block, `SimpleHmac`'s `K XOR opad` is the
/// key XOR a constant: README, "Assurance").
/// The states are wiped whole on drop, the key schedule overwrites the
/// stack it used (README, "Assurance", for what remains), and `Debug`
/// prints no key material.
///
/// A handshake holds its key through any handle `K: Borrow<Key>`: `&Key`
/// (borrowed), `Arc<Key>` or `Rc<Key>` (shared, `'static`), `Box<Key>` or
/// `Key` itself (owned). With `Arc<Key>`, a key rotation is a new `Arc`:
/// handshakes already running keep the key they started with.
///
/// Size: 2208 bytes on x86_64, inline.
pub struct Key {
    states: [MacState; 6],
}

impl Key {
    /// Keys HMAC with `secret` for every digest. Never fails.
    #[must_use]
    pub fn new(secret: &[u8]) -> Key {
        let key = Key::keyed(secret);
        scrub_stack();
        key
    }

    /// The key schedule, in a frame of its own below [`Key::new`]'s, which
    /// [`scrub_stack`] then overwrites.
    #[inline(never)]
    fn keyed(secret: &[u8]) -> Key {
        Key {
            states: Digest::ALL.map(|d| MacState::new(d, secret)),
        }
    }

    pub(crate) fn state(&self, digest: Digest) -> &MacState {
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
