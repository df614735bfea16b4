//! The suite's hash `H` and HKDF (RFC 5869): one enum each, dispatched in
//! one place each, and the inline buffer their outputs live in.

use core::mem::size_of;

use hkdf::{Hkdf, SimpleHkdf};
use sha2::Digest as _;

use super::labels;
use super::suite::{Suite, MAX_LEN};
use crate::wipe::{span, wipe, Wipe};

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

    /// The suite whose hash this is (the variant says it: a machine
    /// stores no suite beside its transcript).
    pub(crate) fn suite(&self) -> Suite {
        match self {
            Hasher::Sha256(_) => Suite::HmacSha256,
            Hasher::Sha384(_) => Suite::HmacSha384,
            Hasher::Sha512(_) => Suite::HmacSha512,
            Hasher::Sha3_256(_) => Suite::HmacSha3_256,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        each_hasher!(self, h => h.update(data));
    }

    /// The hash of everything fed so far (the state is kept): `L` bytes.
    pub(crate) fn snapshot(&self) -> PublicHash {
        each_hasher!(self, h => PublicHash::from_slice(&h.clone().finalize()))
    }
}

/// A hash of public bytes: a transcript hash (`H(T1)`, `H(T2)`,
/// `handshake_hash`) or `H(context)`. Not zeroized: it never holds a secret
/// (the transcript is the messages on the wire and the hashes of the
/// context and server name, which [`Config`](super::Config)'s `Debug`
/// shows).
pub(crate) type PublicHash = crate::buf::Public64;

/// HKDF-Extract(salt, ikm) (RFC 5869 section 2.2): the PRK's `L` bytes.
///
/// Taken as bytes, and the expanding state built from them apart
/// ([`Prk::from_bytes`]), because `hkdf`'s `Hkdf::new` builds the
/// expanding HMAC where the extracting one just held `ikm` in its block
/// buffer: the new state's buffer, never written until it is used, kept
/// those stale bytes, the key itself, for as long as the key lived.
/// [`NativeKey::new`](super::NativeKey::new) scrubs the stack between the
/// two.
#[inline(never)]
pub(crate) fn extract_bytes(suite: Suite, salt: &[u8], ikm: &[u8]) -> Hash {
    let mut prk = Hash::new();
    match suite {
        Suite::HmacSha256 => prk.set(&Hkdf::<sha2::Sha256>::extract(Some(salt), ikm).0),
        Suite::HmacSha384 => prk.set(&Hkdf::<sha2::Sha384>::extract(Some(salt), ikm).0),
        Suite::HmacSha512 => prk.set(&Hkdf::<sha2::Sha512>::extract(Some(salt), ikm).0),
        Suite::HmacSha3_256 => {
            prk.set(&SimpleHkdf::<sha3::Sha3_256>::extract(Some(salt), ikm).0);
        }
    }
    prk
}

/// `H(data)` in one call, for public `data`.
pub(crate) fn hash(suite: Suite, data: &[u8]) -> PublicHash {
    let mut h = Hasher::new(suite);
    h.update(data);
    h.snapshot()
}

/// A key of up to [`MAX_LEN`] bytes (a PRK, an HKDF-Expand output),
/// inline, zeroized on drop.
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

/// An HKDF pseudorandom key (RFC 5869 section 2.2) of the suite, ready to
/// expand; wiped whole on drop ([`crate::wipe`]).
#[derive(Clone)]
pub(crate) struct Prk {
    state: PrkState,
}

/// `hkdf`'s state of each suite (an HMAC keyed with the PRK).
#[derive(Clone)]
enum PrkState {
    Sha256(Hkdf<sha2::Sha256>),
    Sha384(Hkdf<sha2::Sha384>),
    Sha512(Hkdf<sha2::Sha512>),
    Sha3_256(SimpleHkdf<sha3::Sha3_256>),
    /// What a dropped PRK becomes: zeros over every other variant's room.
    #[allow(dead_code, reason = "never read: written for its bytes")]
    Wiped([u8; PRK_SPAN]),
}

const PRK_SPAN: usize = span(&[
    size_of::<Hkdf<sha2::Sha256>>(),
    size_of::<Hkdf<sha2::Sha384>>(),
    size_of::<Hkdf<sha2::Sha512>>(),
    size_of::<SimpleHkdf<sha3::Sha3_256>>(),
]);

impl Wipe for PrkState {
    fn wiped() -> PrkState {
        PrkState::Wiped([0; PRK_SPAN])
    }
}

impl Drop for Prk {
    fn drop(&mut self) {
        wipe(&mut self.state);
    }
}

impl Prk {
    /// HKDF-Extract(salt, ikm).
    /// HKDF-Extract(salt, ikm), ready to expand: [`extract_bytes`], then
    /// [`Prk::from_prk`].
    pub(crate) fn extract(suite: Suite, salt: &[u8], ikm: &[u8]) -> Prk {
        Prk::from_bytes(suite, &extract_bytes(suite, salt, ikm))
    }

    /// The PRK state of `prk`, `L` bytes from [`extract_bytes`].
    pub(crate) fn from_bytes(suite: Suite, prk: &Hash) -> Prk {
        // An Extract output is exactly `L` bytes, which `from_prk` takes. A
        // wiped PRK in its place would derive keys from nothing, so this is
        // no fallback (as `keyed` in `crate::mac` for HMAC keys).
        match Prk::from_prk(suite, prk.as_bytes()) {
            Some(state) => state,
            None => unreachable!("an HKDF-Extract output is L bytes"),
        }
    }

    /// Uses `prk` (at least `L` bytes: an HKDF-Extract or -Expand output)
    /// as a PRK. Written in place over the all-zero variant, as
    /// [`crate::mac::MacState::new`] is.
    pub(crate) fn from_prk(suite: Suite, prk: &[u8]) -> Option<Prk> {
        let mut out = Prk::wiped();
        match suite {
            Suite::HmacSha256 => out.state = PrkState::Sha256(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha384 => out.state = PrkState::Sha384(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha512 => out.state = PrkState::Sha512(Hkdf::from_prk(prk).ok()?),
            Suite::HmacSha3_256 => {
                out.state = PrkState::Sha3_256(SimpleHkdf::from_prk(prk).ok()?);
            }
        }
        Some(out)
    }

    /// The all-zero PRK (expands nothing).
    pub(crate) fn wiped() -> Prk {
        Prk {
            state: PrkState::wiped(),
        }
    }

    /// PROTOCOL.md "Key schedule", `Expand(secret, label, context, n)`:
    /// HKDF-Expand with `info = HkdfLabel` =
    /// `u16(n) || "hmac-handshake v1" || u8(suite id) || lp8(label) || lp8(context)`
    /// (`n` = `out.len()`, big-endian; `21 + len(label) + len(context)` bytes), so
    /// the output length and the suite are bound into every derived key, as
    /// RFC 8446 section 7.1's `HkdfLabel` binds the length.
    ///
    /// Returns `false` (nothing written) when `out` is longer than `255 * L`,
    /// or `label` or `context` longer than 255 bytes.
    pub(crate) fn expand_label(
        &self,
        suite: Suite,
        label: &[u8],
        context: &[u8],
        out: &mut [u8],
    ) -> bool {
        let (Ok(n), Ok(label_len), Ok(context_len)) = (
            u16::try_from(out.len()),
            u8::try_from(label.len()),
            u8::try_from(context.len()),
        ) else {
            return false;
        };
        let n = n.to_be_bytes();
        self.expand(
            &[
                &n,
                labels::PROTOCOL,
                &[suite.id(), label_len],
                label,
                &[context_len],
                context,
            ],
            out,
        )
    }

    /// HKDF-Expand(PRK, info = concatenation of `info`, out.len()).
    /// Returns `false` when `out` is longer than `255 * L`.
    fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> bool {
        match &self.state {
            PrkState::Sha256(h) => h.expand_multi_info(info, out).is_ok(),
            PrkState::Sha384(h) => h.expand_multi_info(info, out).is_ok(),
            PrkState::Sha512(h) => h.expand_multi_info(info, out).is_ok(),
            PrkState::Sha3_256(h) => h.expand_multi_info(info, out).is_ok(),
            // Only ever seen inside `Drop`.
            PrkState::Wiped(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Prk, PrkState, Suite, PRK_SPAN};

    /// The `Wiped` array and the tag are the whole enum (see `crate::wipe`).
    #[test]
    fn spans_every_byte() {
        assert_eq!(core::mem::size_of::<PrkState>(), 1 + PRK_SPAN);
    }

    /// A machine reads its suite off its transcript's hash: each suite has
    /// a hash of its own. A future suite on a hash already used fails here
    /// (and then the suite must be stored).
    #[test]
    fn the_transcript_says_its_suite() {
        for suite in Suite::ALL {
            assert_eq!(super::Hasher::new(suite).suite(), suite);
        }
    }

    /// The suite id is in every `HkdfLabel`: the same PRK, label, context
    /// and length give other bytes under another suite id (a future suite on
    /// SHA-256 shares no key with `hmac-sha256`), and the output length is
    /// bound too (16 bytes are not the first 16 of 48).
    #[test]
    fn suite_id_and_length_change_derived_keys() {
        let prk = Prk::extract(Suite::HmacSha256, b"hmac-handshake v1", &[7; 32]);
        let derive = |suite, n: usize| {
            let mut out = [0u8; 48];
            assert!(prk.expand_label(suite, b"client key", b"", &mut out[..n]));
            out
        };
        let sha256 = derive(Suite::HmacSha256, 32);
        // The same SHA-256 PRK, expanded under another suite's id (0x03).
        let other_id = derive(Suite::HmacSha512, 32);
        assert_ne!(sha256[..32], other_id[..32]);
        assert_ne!(
            derive(Suite::HmacSha256, 16)[..16],
            derive(Suite::HmacSha256, 48)[..16]
        );
        // The raw HKDF-Expand of RFC 5869 (no HkdfLabel) gives neither.
        let mut raw = [0u8; 32];
        assert!(prk.expand(&[b"client key"], &mut raw));
        assert_ne!(sha256[..32], raw);
        assert_ne!(other_id[..32], raw);
        // Over 255 * L, or a label over 255 bytes: refused, nothing written.
        let mut long = [0u8; 255 * 32 + 1];
        assert!(!prk.expand_label(Suite::HmacSha256, b"l", b"", &mut long));
        assert!(long.iter().all(|&b| b == 0));
        assert!(!prk.expand_label(Suite::HmacSha256, &[0; 256], b"", &mut raw[..1]));
    }
}
