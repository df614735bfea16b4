//! MAC suites of the native protocol, and the hash / HKDF dispatch they need
//! (PROTOCOL.md, "Suites").

use core::fmt;

use hkdf::{Hkdf, SimpleHkdf};
use sha2::Digest as _;

use crate::Digest;

/// A MAC suite: HMAC and HKDF (RFC 5869) over one hash function.
/// The wire id is one byte (PROTOCOL.md, "Suites").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// `0x01`: HMAC-SHA-256, 32-byte tags and keys. The default.
    HmacSha256,
    /// `0x02`: HMAC-SHA-384, 48-byte tags and keys.
    HmacSha384,
    /// `0x03`: HMAC-SHA-512, 64-byte tags and keys.
    HmacSha512,
    /// `0x04`: HMAC-SHA3-256, 32-byte tags and keys.
    HmacSha3_256,
}

impl Suite {
    /// Every suite, in wire-id order.
    pub const ALL: [Suite; 4] = [
        Suite::HmacSha256,
        Suite::HmacSha384,
        Suite::HmacSha512,
        Suite::HmacSha3_256,
    ];

    /// The one-byte wire id.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Suite::HmacSha256 => 0x01,
            Suite::HmacSha384 => 0x02,
            Suite::HmacSha512 => 0x03,
            Suite::HmacSha3_256 => 0x04,
        }
    }

    /// The suite with wire id `id`, if any.
    #[must_use]
    pub fn from_id(id: u8) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The suite's name: `hmac-sha256`, `hmac-sha384`, `hmac-sha512`, `hmac-sha3_256`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Suite::HmacSha256 => "hmac-sha256",
            Suite::HmacSha384 => "hmac-sha384",
            Suite::HmacSha512 => "hmac-sha512",
            Suite::HmacSha3_256 => "hmac-sha3_256",
        }
    }

    /// The suite named `name` (as [`Suite::name`], or the bare digest name
    /// such as `sha256`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Suite> {
        let bare = name.strip_prefix("hmac-").unwrap_or(name);
        Suite::ALL.into_iter().find(|s| s.digest().name() == bare)
    }

    /// The hash function, as a [`Digest`].
    #[must_use]
    pub const fn digest(self) -> Digest {
        match self {
            Suite::HmacSha256 => Digest::Sha256,
            Suite::HmacSha384 => Digest::Sha384,
            Suite::HmacSha512 => Digest::Sha512,
            Suite::HmacSha3_256 => Digest::Sha3_256,
        }
    }

    /// `L`: hash output length in bytes, the length of tags, derived keys,
    /// session keys and the handshake hash.
    #[must_use]
    pub const fn mac_len(self) -> usize {
        self.digest().tag_len()
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of suites (the client's allowed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteSet(u8);

impl SuiteSet {
    /// All four suites.
    pub const ALL: SuiteSet = SuiteSet(0b1111);
    /// No suite.
    pub const EMPTY: SuiteSet = SuiteSet(0);

    /// This set with `suite` added.
    #[must_use]
    pub const fn with(self, suite: Suite) -> SuiteSet {
        SuiteSet(self.0 | 1 << suite.index())
    }

    /// The set holding only `suite`.
    #[must_use]
    pub const fn only(suite: Suite) -> SuiteSet {
        SuiteSet::EMPTY.with(suite)
    }

    /// Whether `suite` is in the set.
    #[must_use]
    pub const fn contains(self, suite: Suite) -> bool {
        self.0 & (1 << suite.index()) != 0
    }
}

impl Default for SuiteSet {
    fn default() -> SuiteSet {
        SuiteSet::ALL
    }
}

/// Longest `L` of any suite, in bytes.
pub const MAX_LEN: usize = 64;

/// A running hash `H` of the suite (the transcript hash).
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_256(sha3::Sha3_256),
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
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha3_256(h) => h.update(data),
        }
    }

    /// The hash of everything fed so far (the state is kept): `L` bytes.
    pub(crate) fn snapshot(&self) -> Hash {
        let mut out = Hash::new();
        match self.clone() {
            Hasher::Sha256(h) => out.set(&h.finalize()),
            Hasher::Sha384(h) => out.set(&h.finalize()),
            Hasher::Sha512(h) => out.set(&h.finalize()),
            Hasher::Sha3_256(h) => out.set(&h.finalize()),
        }
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
#[derive(Clone)]
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
