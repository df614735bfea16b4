//! Pre-shared keys of the native protocol: a public key id and the per-suite
//! keys derived from the secret (PROTOCOL.md, "Key schedule").

use core::fmt;

use super::suite::{Hash, Prk, Suite};
use super::{labels, MAX_KEY_ID_LEN, MIN_KEY_LEN};
use crate::key::MacState;
use crate::Error;

/// A key id: 1 to 32 bytes, a public label sent in clear so the server can
/// pick the key (rotation with overlap). Stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId {
    bytes: [u8; MAX_KEY_ID_LEN],
    len: u8,
}

impl KeyId {
    /// A key id from its bytes.
    ///
    /// # Errors
    /// [`Error::KeyIdLength`] unless `id` is 1 to 32 bytes.
    pub fn new(id: &[u8]) -> Result<KeyId, Error> {
        if id.is_empty() || id.len() > MAX_KEY_ID_LEN {
            return Err(Error::KeyIdLength { len: id.len() });
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
#[derive(Clone)]
pub(crate) struct SuiteKeys {
    pub(crate) prk: Prk,
    pub(crate) client: MacState,
    pub(crate) server: MacState,
}

impl SuiteKeys {
    fn derive(suite: Suite, secret: &[u8]) -> SuiteKeys {
        let prk = Prk::extract(suite, labels::SALT, secret);
        let mut okm = Hash::zeroed(suite.mac_len());
        let role_key = |label: &[u8], okm: &mut Hash| {
            // L <= 255 * L always holds.
            prk.expand(&[label], okm.as_mut());
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

/// A pre-shared key with its key id, keyed once for every suite.
///
/// The secret must be at least 16 bytes (32 random bytes is the norm: a
/// captured handshake lets anyone test guesses offline, so a low-entropy
/// key is a weak key). Building it runs the key schedule for all four
/// suites (HKDF-Extract and two HKDF-Expands each); the secret itself is
/// not kept. Derived states are zeroized on drop (see the crate docs for the
/// SHA-3 caveat), and `Debug` shows only the key id.
#[derive(Clone)]
pub struct NativeKey {
    id: KeyId,
    suites: [SuiteKeys; 4],
}

impl NativeKey {
    /// Derives the keys for `secret` under `id`.
    ///
    /// # Errors
    /// [`Error::KeyIdLength`] for an id outside 1..=32 bytes;
    /// [`Error::KeyTooShort`] for a secret under 16 bytes.
    pub fn new(id: &[u8], secret: &[u8]) -> Result<NativeKey, Error> {
        let id = KeyId::new(id)?;
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::KeyTooShort { len: secret.len() });
        }
        Ok(NativeKey {
            id,
            suites: Suite::ALL.map(|s| SuiteKeys::derive(s, secret)),
        })
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn suite(&self, suite: Suite) -> &SuiteKeys {
        &self.suites[suite.index()]
    }
}

impl fmt::Debug for NativeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
