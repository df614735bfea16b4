//! What a successful native handshake leaves both sides holding
//! (PROTOCOL.md, "Session secrets").

use core::fmt;

use super::hash::{hash, Hash, Prk};
use super::key::KeyId;
use super::labels;
use super::suite::Suite;
use crate::Error;

/// The session secrets of a completed native handshake: identical on both
/// sides. Zeroized on drop; `Debug` shows only the key id and suite. Not
/// `Clone`: the keys live in one place.
pub struct Session {
    key_id: KeyId,
    suite: Suite,
    handshake_hash: Hash,
    c2s: Hash,
    s2c: Hash,
    exporter: Hash,
}

impl Session {
    /// PROTOCOL.md "Session secrets": the three HKDF-Expands from the key's
    /// PRK over `handshake_hash`.
    pub(crate) fn derive(prk: &Prk, suite: Suite, key_id: KeyId, handshake_hash: Hash) -> Session {
        let expand = |label: &[u8]| {
            let mut out = Hash::zeroed(suite.mac_len());
            prk.expand(&[label, handshake_hash.as_bytes()], out.as_mut());
            out
        };
        Session {
            key_id,
            suite,
            c2s: expand(labels::C2S),
            s2c: expand(labels::S2C),
            exporter: expand(labels::EXPORTER),
            handshake_hash,
        }
    }

    /// The key id the client proved.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The suite the server chose.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// `handshake_hash`: `L` bytes, the hash of the whole transcript; usable
    /// as a channel binding. Not secret.
    #[must_use]
    pub fn handshake_hash(&self) -> &[u8] {
        self.handshake_hash.as_bytes()
    }

    /// `c2s_key`: `L` secret bytes for protecting client-to-server traffic.
    #[must_use]
    pub fn client_to_server_key(&self) -> &[u8] {
        self.c2s.as_bytes()
    }

    /// `s2c_key`: `L` secret bytes for protecting server-to-client traffic.
    #[must_use]
    pub fn server_to_client_key(&self) -> &[u8] {
        self.s2c.as_bytes()
    }

    /// Keying material exporter (in the manner of RFC 8446 section 7.5):
    /// fills `out` with `HKDF-Expand(exporter_secret, "hmac-handshake v1
    /// export" || lp8(label) || H(context), out.len())`. Distinct labels or
    /// contexts give independent keys.
    ///
    /// # Errors
    /// [`Error::ExportTooLong`] when `label` exceeds 255 bytes or `out`
    /// exceeds `255 * L` bytes (nothing is written then).
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let label_len = u8::try_from(label.len()).map_err(|_| Error::ExportTooLong)?;
        if out.len() > 255 * self.suite.mac_len() {
            return Err(Error::ExportTooLong);
        }
        let prk =
            Prk::from_prk(self.suite, self.exporter.as_bytes()).ok_or(Error::ExportTooLong)?;
        let context_hash = hash(self.suite, context);
        let ok = prk.expand(
            &[labels::EXPORT, &[label_len], label, context_hash.as_bytes()],
            out,
        );
        if ok {
            Ok(())
        } else {
            Err(Error::ExportTooLong)
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("key_id", &self.key_id)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}
