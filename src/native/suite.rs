//! MAC suites of the native protocol (PROTOCOL.md, "Suites").

use core::fmt;

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
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest `L` of any suite, in bytes.
pub const MAX_LEN: usize = 64;
