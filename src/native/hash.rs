//! The suite's hash `H` and HKDF (RFC 5869): one enum each, dispatched in
//! one place each, and the inline buffer their outputs live in.

use hkdf::{Hkdf, SimpleHkdf};
use sha2::Digest as _;

use super::suite::{Suite, MAX_LEN};

/// A running hash `H` of the suite (the transcript hash).
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_256(sha3::Sha3_256),
}

/// Runs `$body` with `$h` bound to the hasher, whatever its suite.
macro_rules! each_hasher {
    ($hasher:expr, $h:ident => $body:expr) => {
        match $hasher {
            Hasher::Sha256($h) => $body,
            Hasher::Sha384($h) => $body,
            Hasher::Sha512($h) => $body,
            Hasher::Sha3_256($h) => $body,
        }
    };
}

impl Hasher {
    pub(crate) fn new(suite: Suite) -> Hasher {
        match suite {
            Suite::HmacSha256 => Hasher::Sha256(sha2::Sha256::new()),
            Suite::HmacSha384 => Hasher::Sha384(sha2::Sha384::new()),
            Suite::HmacSha512 => Hasher::Sha512(sha2::Sha512::new()),
            Suite::HmacSha3_256 => Hasher::Sha3_256(sha3::Sha3_256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        each_hasher!(self, h => h.update(data));
    }

    /// The hash of everything fed so far (the state is kept): `L` bytes.
    pub(crate) fn snapshot(&self) -> Hash {
        let mut out = Hash::new();
        each_hasher!(self, h => out.set(&h.clone().finalize()));
        out
    }
}

/// `H(data)` in one call.
pub(crate) fn hash(suite: Suite, data: &[u8]) -> Hash {
    let mut h = Hasher::new(suite);
    h.update(data);
    h.snapshot()
}

/// A hash or key of up to [`MAX_LEN`] bytes, inline, zeroized on drop.
pub(crate) struct Hash {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl Hash {
    pub(crate) const fn new() -> Hash {
        Hash {
            bytes: [0; MAX_LEN],
            len: 0,
        }
    }

    pub(crate) fn set(&mut self, data: &[u8]) {
        let n = data.len().min(MAX_LEN);
        self.bytes[..n].copy_from_slice(&data[..n]);
        self.len = n;
    }

    pub(crate) fn zeroed(len: usize) -> Hash {
        Hash {
            bytes: [0; MAX_LEN],
            len: len.min(MAX_LEN),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }
}

impl Drop for Hash {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

/// An HKDF pseudorandom key (RFC 5869 section 2.2) of the suite, ready to expand.
#[derive(Clone)]
pub(crate) enum Prk {
    Sha256(Hkdf<sha2::Sha256>),
    Sha384(Hkdf<sha2::Sha384>),
    Sha512(Hkdf<sha2::Sha512>),
    Sha3_256(SimpleHkdf<sha3::Sha3_256>),
}

impl Prk {
    /// HKDF-Extract(salt, ikm).
    pub(crate) fn extract(suite: Suite, salt: &[u8], ikm: &[u8]) -> Prk {
        match suite {
            Suite::HmacSha256 => Prk::Sha256(Hkdf::new(Some(salt), ikm)),
            Suite::HmacSha384 => Prk::Sha384(Hkdf::new(Some(salt), ikm)),
            Suite::HmacSha512 => Prk::Sha512(Hkdf::new(Some(salt), ikm)),
            Suite::HmacSha3_256 => Prk::Sha3_256(SimpleHkdf::new(Some(salt), ikm)),
        }
    }

    /// Uses `prk` (exactly `L` bytes, an HKDF-Expand output) as a PRK.
    pub(crate) fn from_prk(suite: Suite, prk: &[u8]) -> Option<Prk> {
        Some(match suite {
            Suite::HmacSha256 => Prk::Sha256(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha384 => Prk::Sha384(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha512 => Prk::Sha512(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha3_256 => Prk::Sha3_256(SimpleHkdf::from_prk(prk).ok()?),
        })
    }

    /// HKDF-Expand(PRK, info = concatenation of `info`, out.len()).
    /// Returns `false` when `out` is longer than `255 * L`.
    pub(crate) fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> bool {
        match self {
            Prk::Sha256(h) => h.expand_multi_info(info, out).is_ok(),
            Prk::Sha384(h) => h.expand_multi_info(info, out).is_ok(),
            Prk::Sha512(h) => h.expand_multi_info(info, out).is_ok(),
            Prk::Sha3_256(h) => h.expand_multi_info(info, out).is_ok(),
        }
    }
}
