//! Pre-keyed HMAC states (RFC 2104 section 2): the hash already fed
//! `K XOR ipad` (and, for the block-level `Hmac`, `K XOR opad`), cloned for
//! every tag so the key schedule runs once per key.

use core::mem::size_of;

use hmac::{Hmac, KeyInit, Mac, SimpleHmac};

use crate::wipe::{span, wipe, Wipe};
use crate::{Digest, Tag};

/// A tag made to go on the wire (a native client or server tag): public
/// once sent, so, unlike [`Tag`], not zeroized on drop.
pub(crate) type WireTag = crate::buf::Public64;

/// One digest's keyed HMAC state, wiped whole on drop ([`crate::wipe`]).
#[derive(Clone)]
pub(crate) struct MacState {
    keyed: Keyed,
}

/// The state itself. SHA-2 and MD5 use `hmac::Hmac`; SHA-3 uses
/// `hmac::SimpleHmac`, since `hmac` 0.13 runs only eager block hashes
/// through `Hmac`. With the `zeroize` features on, the hash states wipe
/// themselves; `SimpleHmac`'s copy of `K XOR opad` and all padding are
/// wiped by [`MacState`]'s `Drop`.
#[derive(Clone)]
enum Keyed {
    Md5(Hmac<md5::Md5>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
    Sha3_256(SimpleHmac<sha3::Sha3_256>),
    Sha3_384(SimpleHmac<sha3::Sha3_384>),
    /// What a dropped state becomes: zeros over every other variant's room.
    #[allow(dead_code, reason = "never read: written for its bytes")]
    Wiped([u8; KEYED_SPAN]),
}

const KEYED_SPAN: usize = span(&[
    size_of::<Hmac<md5::Md5>>(),
    size_of::<Hmac<sha2::Sha256>>(),
    size_of::<Hmac<sha2::Sha384>>(),
    size_of::<Hmac<sha2::Sha512>>(),
    size_of::<SimpleHmac<sha3::Sha3_256>>(),
    size_of::<SimpleHmac<sha3::Sha3_384>>(),
]);

impl Wipe for Keyed {
    fn wiped() -> Keyed {
        Keyed::Wiped([0; KEYED_SPAN])
    }
}

impl Drop for MacState {
    fn drop(&mut self) {
        wipe(&mut self.keyed);
    }
}

/// Runs `$body` with `$m` bound to the keyed state, whatever its digest:
/// the one place the variants are listed for dispatch. A wiped state (only
/// ever seen inside `Drop`) gives `$wiped`.
macro_rules! each_state {
    ($state:expr, $m:ident => $body:expr, wiped => $wiped:expr) => {
        match &$state.keyed {
            Keyed::Md5($m) => $body,
            Keyed::Sha256($m) => $body,
            Keyed::Sha384($m) => $body,
            Keyed::Sha512($m) => $body,
            Keyed::Sha3_256($m) => $body,
            Keyed::Sha3_384($m) => $body,
            Keyed::Wiped(_) => $wiped,
        }
    };
}

fn keyed<M: KeyInit>(key: &[u8]) -> M {
    // HMAC takes keys of any length (RFC 2104 section 2: longer keys are hashed).
    match M::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The state after absorbing `parts`, a clone of the keyed one.
fn absorbed<M: Mac + Clone>(state: &M, parts: &[&[u8]]) -> M {
    let mut m = state.clone();
    for part in parts {
        m.update(part);
    }
    m
}

impl MacState {
    /// The keyed state of `digest`. Built over the all-zero variant and
    /// written variant by variant in place, so that the room the variant
    /// does not use holds zeros, not stale stack bytes (a move copies it).
    pub(crate) fn new(digest: Digest, key: &[u8]) -> MacState {
        let mut state = MacState::wiped();
        match digest {
            Digest::Md5 => state.keyed = Keyed::Md5(keyed(key)),
            Digest::Sha256 => state.keyed = Keyed::Sha256(keyed(key)),
            Digest::Sha384 => state.keyed = Keyed::Sha384(keyed(key)),
            Digest::Sha512 => state.keyed = Keyed::Sha512(keyed(key)),
            Digest::Sha3_256 => state.keyed = Keyed::Sha3_256(keyed(key)),
            Digest::Sha3_384 => state.keyed = Keyed::Sha3_384(keyed(key)),
        }
        state
    }

    /// The all-zero state (tags nothing, verifies nothing).
    pub(crate) fn wiped() -> MacState {
        MacState {
            keyed: Keyed::wiped(),
        }
    }

    /// HMAC over the concatenation of `parts`: [`Digest::tag_len`] bytes.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        each_state!(self, m => Tag::from_slice(absorbed(m, parts).finalize().as_bytes()),
            wiped => Tag::from_slice(&[]))
    }

    /// HMAC over the concatenation of `parts`, for a tag that is sent:
    /// [`Digest::tag_len`] bytes.
    pub(crate) fn wire_tag(&self, parts: &[&[u8]]) -> WireTag {
        each_state!(self, m => WireTag::from_slice(&absorbed(m, parts).finalize().into_bytes()),
            wiped => WireTag::from_slice(&[]))
    }

    /// Checks `tag` against HMAC over `parts`. Constant time in the tag
    /// bytes: digest's `verify_slice` compares with `ctutils` (cmov-based),
    /// after the public length check.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        each_state!(self, m => absorbed(m, parts).verify_slice(tag).is_ok(), wiped => false)
    }
}

#[cfg(test)]
mod tests {
    use super::{Keyed, KEYED_SPAN};

    /// The `Wiped` array and the tag are the whole enum: wiping leaves no
    /// byte unwritten but the tag (whose value is the same for every key).
    #[test]
    fn spans_every_byte() {
        assert_eq!(core::mem::size_of::<Keyed>(), 1 + KEYED_SPAN);
    }
}
