//! Pre-shared keys of the native protocol: a public key id and one suite's
//! keys derived from the secret (PROTOCOL.md, "Key schedule").

use core::fmt;
use core::mem::size_of;

use subtle::{Choice, ConstantTimeEq};

use super::hash::{extract_bytes, Hash, Prk};
use super::suite::Suite;
use super::{labels, MAX_KEY_ID_LEN, MIN_KEY_LEN};
use crate::mac::MacState;
use crate::wipe::scrub_stack;
use crate::Error;

/// A key id: 1 to 32 bytes, a public label sent in clear so the server can
/// pick the key (rotation with overlap). Stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId {
    bytes: [u8; MAX_KEY_ID_LEN],
    len: u8,
}

impl KeyId {
    /// The one-byte id `k`: an example value for tables of every error.
    pub(crate) const EXAMPLE: KeyId = {
        let mut bytes = [0u8; MAX_KEY_ID_LEN];
        bytes[0] = b'k';
        KeyId { bytes, len: 1 }
    };

    /// A key id from its bytes.
    ///
    /// # Errors
    /// [`Error::InvalidKeyId`] unless `id` is 1 to 32 bytes.
    pub fn new(id: &[u8]) -> Result<KeyId, Error> {
        if id.is_empty() || id.len() > MAX_KEY_ID_LEN {
            return Err(Error::InvalidKeyId { len: id.len() });
        }
        let mut bytes = [0u8; MAX_KEY_ID_LEN];
        bytes[..id.len()].copy_from_slice(id);
        Ok(KeyId {
            bytes,
            len: id.len() as u8,
        })
    }

    /// The id bytes (1 to 32).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// A one-byte id `00`, where an id is needed before any is known.
    pub(crate) const fn placeholder() -> KeyId {
        KeyId {
            bytes: [0; MAX_KEY_ID_LEN],
            len: 1,
        }
    }

    /// The id as four words and its length, for comparisons that take the
    /// same time whatever the bytes.
    #[cfg(feature = "std")]
    pub(crate) fn words(&self) -> ([u64; 4], u8) {
        let mut words = [0u64; 4];
        for (w, chunk) in words.iter_mut().zip(self.bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        (words, self.len)
    }
}

/// Equal ids, in constant time: every byte is looked at whatever differs.
impl ConstantTimeEq for KeyId {
    fn ct_eq(&self, other: &KeyId) -> Choice {
        crate::ct::eq32(&self.bytes, &other.bytes) & self.len.ct_eq(&other.len)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => write!(f, "KeyId({s:?})"),
            Err(_) => write!(f, "KeyId({:02x?})", self.as_bytes()),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => f.write_str(s),
            Err(_) => {
                for b in self.as_bytes() {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// One suite's keys: the PRK, and the client and server MAC keys keyed once.
pub(crate) struct SuiteKeys {
    pub(crate) prk: Prk,
    pub(crate) client: MacState,
    pub(crate) server: MacState,
}

impl SuiteKeys {
    /// The key schedule, in a frame of its own below [`NativeKey::new`]'s,
    /// which [`scrub_stack`] then overwrites.
    #[inline(never)]
    fn derive(suite: Suite, secret: &[u8]) -> SuiteKeys {
        let prk = extract_bytes(suite, labels::PROTOCOL, secret);
        // The extracting HMAC held the key in its block buffer: scrubbed
        // before the PRK's state is built where it was (see `extract_bytes`).
        scrub_stack();
        let prk = Prk::from_bytes(suite, &prk);
        let mut okm = Hash::zeroed(suite.mac_len());
        let role_key = |label: &[u8], okm: &mut Hash| {
            // L <= 255 * L always holds.
            prk.expand_label(suite, label, &[], okm.as_mut());
            MacState::new(suite.digest(), okm.as_bytes())
        };
        let client = role_key(labels::CLIENT_KEY, &mut okm);
        let server = role_key(labels::SERVER_KEY, &mut okm);
        SuiteKeys {
            prk,
            client,
            server,
        }
    }
}

/// A pre-shared key with its key id, keyed once for one [`Suite`]
/// (PROTOCOL.md, "Key schedule": the PRK and the client and server MAC keys).
///
/// The secret must be at least 16 bytes (32 random bytes is the norm: a
/// captured handshake lets anyone test guesses offline, so a low-entropy
/// key is a weak key). Building it runs HKDF-Extract and two HKDF-Expands
/// for its suite; the secret itself is not kept. The derived states are
/// wiped whole on drop and the key schedule overwrites the stack it used
/// (README, "Assurance", for what remains), and `Debug`
/// shows only the key id and the suite. Not `Clone`: share it with `Arc`.
///
/// A server holds its keys in a [`Keyring`](super::Keyring) (or any
/// [`KeyLookup`](super::KeyLookup); one `NativeKey` is a keyring of one
/// key). A client holds one `NativeKey` per suite it accepts
/// ([`ClientKeys`](super::ClientKeys)).
///
/// Size: 1152 bytes inline, whatever the suite (the largest suite's states),
/// aligned to a 64-byte cache line: every key of a keyring then sits the same
/// way in the cache, so copying one key's states costs what copying
/// another's does (the keyring's constant-time bench saw the difference).
#[repr(align(64))]
pub struct NativeKey {
    id: KeyId,
    suite: Suite,
    keys: SuiteKeys,
    /// Zeros up to the 64-byte line: without them that room is padding,
    /// which no `Drop` writes and a move fills with stale stack bytes.
    #[allow(dead_code, reason = "never read: written for its bytes")]
    filler: [u8; FILLER],
}

/// The bytes of [`NativeKey`] past its fields, up to the next multiple of
/// 64 (`KeyId` and `Suite` have no padding of their own).
const FILLER: usize = {
    let used = size_of::<SuiteKeys>() + size_of::<KeyId>() + size_of::<Suite>();
    (64 - used % 64) % 64
};

impl NativeKey {
    /// Derives the keys of `suite` for `secret` under `id`.
    ///
    /// # Errors
    /// [`Error::InvalidKeyId`] for an id outside 1..=32 bytes;
    /// [`Error::KeyTooShort`] for a secret under 16 bytes.
    pub fn new(id: &[u8], secret: &[u8], suite: Suite) -> Result<NativeKey, Error> {
        let id = KeyId::new(id)?;
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::KeyTooShort { len: secret.len() });
        }
        let keys = SuiteKeys::derive(suite, secret);
        scrub_stack();
        Ok(NativeKey {
            id,
            suite,
            keys,
            filler: [0; FILLER],
        })
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The suite the key is keyed for.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    pub(crate) fn keys(&self) -> &SuiteKeys {
        &self.keys
    }

    /// A key of zeros and wiped states, for overwriting memory a key was
    /// moved out of (never looked up: it is no key of any ring).
    #[cfg(feature = "std")]
    pub(crate) fn wiped() -> NativeKey {
        NativeKey {
            id: KeyId::placeholder(),
            suite: Suite::HmacSha256,
            keys: SuiteKeys {
                prk: Prk::wiped(),
                client: MacState::wiped(),
                server: MacState::wiped(),
            },
            filler: [0; FILLER],
        }
    }
}

impl fmt::Debug for NativeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeKey")
            .field("id", &self.id)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyId, NativeKey, Suite, SuiteKeys, FILLER};
    use core::mem::size_of;

    /// The fields and the filler are the whole key: no padding is left.
    #[test]
    fn no_padding() {
        let fields = size_of::<SuiteKeys>() + size_of::<KeyId>() + size_of::<Suite>() + FILLER;
        assert_eq!(size_of::<NativeKey>(), fields);
    }
}
