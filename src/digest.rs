//! The hash functions HMAC runs over, and the fixed-capacity tag they produce.

use core::fmt;

/// A hash function for HMAC (RFC 2104).
///
/// Names follow CPython's `hashlib` names, which are also the names that
/// travel in multiprocessing's `{digest}` prefix (`_ALLOWED_DIGESTS` in
/// `multiprocessing/connection.py`, Python 3.12+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Digest {
    /// MD5: 16-byte tag, 64-byte block. Legacy only (Python <= 3.11, the recipe).
    Md5,
    /// SHA-256: 32-byte tag, 64-byte block.
    Sha256,
    /// SHA-384: 48-byte tag, 128-byte block.
    Sha384,
    /// SHA-512: 64-byte tag, 128-byte block.
    Sha512,
    /// SHA3-256: 32-byte tag, 136-byte block.
    Sha3_256,
    /// SHA3-384: 48-byte tag, 104-byte block.
    Sha3_384,
}

impl Digest {
    /// Every digest, in declaration order.
    pub const ALL: [Digest; 6] = [
        Digest::Md5,
        Digest::Sha256,
        Digest::Sha384,
        Digest::Sha512,
        Digest::Sha3_256,
        Digest::Sha3_384,
    ];

    /// Position in [`Digest::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The `hashlib` name: `md5`, `sha256`, `sha384`, `sha512`, `sha3_256`, `sha3_384`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "md5",
            Digest::Sha256 => "sha256",
            Digest::Sha384 => "sha384",
            Digest::Sha512 => "sha512",
            Digest::Sha3_256 => "sha3_256",
            Digest::Sha3_384 => "sha3_384",
        }
    }

    /// Looks a digest up by its `hashlib` name (exact, lowercase ASCII bytes).
    /// Returns `None` for any other name.
    #[must_use]
    pub fn from_name(name: &[u8]) -> Option<Digest> {
        Digest::ALL
            .into_iter()
            .find(|d| d.name().as_bytes() == name)
    }

    /// Length of the HMAC tag in bytes (the hash output length).
    #[must_use]
    pub const fn tag_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha256 | Digest::Sha3_256 => 32,
            Digest::Sha384 | Digest::Sha3_384 => 48,
            Digest::Sha512 => 64,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest tag any [`Digest`] produces, in bytes (SHA-512).
pub const MAX_TAG_LEN: usize = 64;

/// An HMAC tag: up to [`MAX_TAG_LEN`] bytes, stored inline (no allocation).
///
/// Tags are public once sent, but a tag we expect is secret until the peer has
/// answered: compare with [`Key::verify`](crate::Key::verify), never `==`.
/// The bytes are zeroized on drop.
#[derive(Clone)]
pub struct Tag {
    bytes: [u8; MAX_TAG_LEN],
    len: usize,
}

impl Tag {
    pub(crate) fn from_slice(tag: &[u8]) -> Tag {
        let mut bytes = [0u8; MAX_TAG_LEN];
        let len = tag.len().min(MAX_TAG_LEN);
        bytes[..len].copy_from_slice(&tag[..len]);
        Tag { bytes, len }
    }

    /// The tag bytes (16 to 64 of them, per [`Digest::tag_len`]).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({} bytes)", self.len)
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}
