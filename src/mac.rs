//! Pre-keyed HMAC states (RFC 2104 section 2): the hash already fed
//! `K XOR ipad` (and, for the block-level `Hmac`, `K XOR opad`), cloned for
//! every tag so the key schedule runs once per key.

use hmac::{Hmac, KeyInit, Mac, SimpleHmac};

use crate::{Digest, Tag};

/// One digest's keyed HMAC state.
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

/// Runs `$body` with `$m` bound to the keyed state, whatever its digest:
/// the one place the variants are listed for dispatch.
macro_rules! each_state {
    ($state:expr, $m:ident => $body:expr) => {
        match $state {
            MacState::Md5($m) => $body,
            MacState::Sha256($m) => $body,
            MacState::Sha384($m) => $body,
            MacState::Sha512($m) => $body,
            MacState::Sha3_256($m) => $body,
            MacState::Sha3_384($m) => $body,
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

    /// HMAC over the concatenation of `parts`: [`Digest::tag_len`] bytes.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        each_state!(self, m => Tag::from_slice(absorbed(m, parts).finalize().as_bytes()))
    }

    /// Checks `tag` against HMAC over `parts`. Constant time in the tag
    /// bytes: digest's `verify_slice` compares with `ctutils` (cmov-based),
    /// after the public length check.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        each_state!(self, m => absorbed(m, parts).verify_slice(tag).is_ok())
    }
}
