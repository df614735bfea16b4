//! What a successful native handshake leaves both sides holding
//! (PROTOCOL.md, "Session secrets").

use core::fmt;

use super::ephemeral::DhSecret;
use super::hash::{hash, Hasher, Prk, PublicHash};
use super::key::KeyId;
use super::labels;
use super::suite::{Suite, MAX_LEN};
use crate::wipe::scrub_stack;
use crate::Error;

/// The session secrets of a completed native handshake: identical on both
/// sides. Zeroized on drop; `Debug` shows only the key id and suite. Not
/// `Clone`: the keys live in one place.
///
/// Size: 291 bytes inline (four values of up to 64 bytes, the key id, the
/// suite, the forward-secrecy flag).
pub struct Session {
    key_id: KeyId,
    suite: Suite,
    forward_secrecy: bool,
    /// `handshake_hash`, `c2s_key`, `s2c_key`, `exporter_secret`: `L` bytes
    /// each, at offsets 0, 64, 128 and 192.
    values: [u8; 4 * MAX_LEN],
}

/// What a finished native machine keeps so that its [`Session`] can be
/// derived when the application asks for it
/// ([`Finished::into_session`](crate::Finished::into_session)), and only
/// then: the PRK the session secrets are expanded from, the transcript
/// (public) up to `T2`, and `server_tag` (public), which the transcript
/// takes only here: a handshake that never derives its session never
/// hashes it. Zeroized on drop (the PRK state is wiped whole).
///
/// That PRK is the key's own without the forward-secrecy mode: as good as
/// the key (it makes both roles' tags), and held as long as the seed is.
/// In the mode it is the session's own, `PRK_fs`, made here from the
/// X25519 secret, which is not kept: neither the key's PRK nor the X25519
/// secret outlives `finish()` then.
pub(crate) struct SessionSeed {
    prk: Prk,
    forward_secrecy: bool,
    key_id: KeyId,
    /// Also says the suite ([`Hasher::suite`]).
    transcript: Hasher,
    server_tag: [u8; MAX_LEN],
}

impl SessionSeed {
    /// The seed of a handshake that verified the peer, from what the
    /// machine holds: `prk` is the key's PRK, `dh` the X25519 secret in the
    /// forward-secrecy mode, `transcript` holds `T2`, `server_tag` is the
    /// `L` bytes that follow it. With `dh`, `PRK_fs` is made now (PROTOCOL.md
    /// "Forward secrecy": one Expand and one Extract, against about 100 us
    /// for X25519) and the stack scrubbed of the key's PRK states that
    /// HKDF left there.
    #[inline(always)]
    pub(crate) fn new(
        prk: &Prk,
        dh: Option<&DhSecret>,
        key_id: KeyId,
        transcript: &Hasher,
        server_tag: &[u8],
    ) -> SessionSeed {
        let mut tag = [0u8; MAX_LEN];
        let n = server_tag.len().min(MAX_LEN);
        tag[..n].copy_from_slice(&server_tag[..n]);
        match dh {
            None => SessionSeed {
                prk: prk.clone(),
                forward_secrecy: false,
                key_id,
                transcript: transcript.clone(),
                server_tag: tag,
            },
            Some(dh) => {
                let seed = SessionSeed {
                    prk: dh.session_prk(prk, transcript.suite()),
                    forward_secrecy: true,
                    key_id,
                    transcript: transcript.clone(),
                    server_tag: tag,
                };
                scrub_stack();
                seed
            }
        }
    }

    /// PROTOCOL.md "Session secrets", from this seed: `handshake_hash` and
    /// the three `Expand`s.
    pub(crate) fn derive(&self) -> Session {
        let suite = self.transcript.suite();
        let mut transcript = self.transcript.clone();
        transcript.update(&self.server_tag[..suite.mac_len()]);
        Session::derive(
            &self.prk,
            self.forward_secrecy,
            suite,
            self.key_id,
            transcript.snapshot(),
        )
    }
}

impl Drop for SessionSeed {
    /// The PRK state wipes itself and the transcript state is zeroized by
    /// `sha2`/`sha3`; the server tag is public (it was sent) but made with
    /// the key, so it goes too: nothing that depends on the key is left.
    fn drop(&mut self) {
        let n = self.transcript.suite().mac_len();
        zeroize::Zeroize::zeroize(&mut self.server_tag[..n]);
    }
}

/// Where each value sits in [`Session::values`].
const HANDSHAKE_HASH: usize = 0;
const C2S: usize = 1;
const S2C: usize = 2;
const EXPORTER: usize = 3;

impl Session {
    /// PROTOCOL.md "Session secrets": the three `Expand`s (each an
    /// `HkdfLabel` with the length `L`, the suite id, the label and
    /// `handshake_hash` as its context) from `prk`: the key's PRK, or in
    /// the forward-secrecy mode `PRK_fs`, which mixes in the X25519 secret.
    fn derive(
        prk: &Prk,
        forward_secrecy: bool,
        suite: Suite,
        key_id: KeyId,
        handshake_hash: PublicHash,
    ) -> Session {
        let mut session = Session {
            key_id,
            suite,
            forward_secrecy,
            values: [0; 4 * MAX_LEN],
        };
        let hh = handshake_hash.as_bytes();
        session.slot_mut(HANDSHAKE_HASH).copy_from_slice(hh);
        for (slot, label) in [
            (C2S, labels::C2S),
            (S2C, labels::S2C),
            (EXPORTER, labels::EXPORTER),
        ] {
            // L bytes are always within 255 * L.
            prk.expand_label(suite, label, hh, session.slot_mut(slot));
        }
        session
    }

    fn slot(&self, slot: usize) -> &[u8] {
        &self.values[slot * MAX_LEN..][..self.suite.mac_len()]
    }

    fn slot_mut(&mut self, slot: usize) -> &mut [u8] {
        let len = self.suite.mac_len();
        &mut self.values[slot * MAX_LEN..][..len]
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

    /// Whether the session keys mix in an ephemeral X25519 secret
    /// ([`ForwardSecrecy`](super::ForwardSecrecy)): if so, a PSK or keyring
    /// leaked later does not reveal them.
    #[must_use]
    pub fn forward_secrecy(&self) -> bool {
        self.forward_secrecy
    }

    /// `handshake_hash`: `L` bytes, the hash of the whole transcript; usable
    /// as a channel binding. Not secret.
    #[must_use]
    pub fn handshake_hash(&self) -> &[u8] {
        self.slot(HANDSHAKE_HASH)
    }

    /// `c2s_key`: `L` secret bytes for protecting client-to-server traffic.
    #[must_use]
    pub fn client_to_server_key(&self) -> &[u8] {
        self.slot(C2S)
    }

    /// `s2c_key`: `L` secret bytes for protecting server-to-client traffic.
    #[must_use]
    pub fn server_to_client_key(&self) -> &[u8] {
        self.slot(S2C)
    }

    /// Keying material exporter (as RFC 8446 section 7.5): fills `out` with
    /// `Expand(exporter_secret, label, H(context), out.len())`, i.e.
    /// HKDF-Expand with `info = u16(out.len()) || "hmac-handshake v1" ||
    /// u8(suite id) || lp8(label) || lp8(H(context))`. Distinct labels,
    /// contexts or lengths give independent keys: 16 bytes are not the first
    /// 16 of a 48-byte export.
    ///
    /// # Errors
    /// [`Error::ExportTooLong`] when `label` exceeds 255 bytes or `out`
    /// exceeds `255 * L` bytes (nothing is written then).
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        if label.len() > 255 || out.len() > 255 * self.suite.mac_len() {
            return Err(Error::ExportTooLong);
        }
        let prk = Prk::from_prk(self.suite, self.slot(EXPORTER)).ok_or(Error::ExportTooLong)?;
        let context_hash = hash(self.suite, context);
        let ok = prk.expand_label(self.suite, label, context_hash.as_bytes(), out);
        if ok {
            Ok(())
        } else {
            Err(Error::ExportTooLong)
        }
    }
}

impl Drop for Session {
    /// Zeroizes the four values, `L` bytes each: the rest of their
    /// 64-byte slots was never written (zeros since `derive`). For SHA-256,
    /// 128 bytes, not 256. (`handshake_hash` is not secret, but it is
    /// wiped with the rest, so that no value of a dropped session is left.)
    fn drop(&mut self) {
        for slot in [HANDSHAKE_HASH, C2S, S2C, EXPORTER] {
            zeroize::Zeroize::zeroize(self.slot_mut(slot));
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("key_id", &self.key_id)
            .field("suite", &self.suite)
            .field("forward_secrecy", &self.forward_secrecy)
            .finish_non_exhaustive()
    }
}
